from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from engagements import charts
from engagements.metrics import get_provider
from engagements.models import Engagement, Phase
from engagements.roi import infrastructure
from engagements.roi.infrastructure import MeasuredPrices
from engagements.roi.inputs import roi_bundle
from engagements.roi.selectors import roi_client_summary, roi_compute
from engagements.services import gate_evaluate, kpi_create, kpi_measurement_record
from engagements.services.roi import roi_assumptions_update, roi_scenario_save

TODAY = dt.date(2026, 4, 15)


def _value(engagement: Engagement, key: str, **params: object):
    provider = get_provider(key)
    assert provider is not None
    return provider.compute(engagement, dict(params))


@time_machine.travel(dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC), tick=False)
def test_payback_and_roi_providers_match_the_computed_roi(roi_engagement: Engagement) -> None:
    bundle = roi_bundle(engagement=roi_engagement)
    assert bundle.primary is not None
    result = roi_compute(bundle=bundle, scenario=bundle.primary)
    payback = _value(roi_engagement, "roi.payback_months")
    roi = _value(roi_engagement, "roi.roi_percent")
    assert result.payback_months is not None and result.roi_percent is not None
    assert payback.value == round(result.payback_months, 1)
    assert roi.value == round(result.roi_percent, 1)
    assert "Expected: pays back in" in payback.detail and "€" in roi.detail
    assert payback.source_url.endswith("/roi/")


def test_providers_have_no_value_until_a_scenario_and_rules_exist(engagement: Engagement, fde) -> None:
    assert _value(engagement, "roi.payback_months").value is None
    assert "no ROI scenario saved yet" in _value(engagement, "roi.payback_months").detail
    roi_scenario_save(engagement=engagement, actor=fde, name="Expected", volume_per_month=Decimal(10))
    assert "no valuation rules" in _value(engagement, "roi.roi_percent").detail
    assert "no ROI scenario named" in _value(engagement, "roi.roi_percent", scenario="Nope").detail


@time_machine.travel(dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC), tick=False)
def test_the_default_ship_criterion_reads_the_payback(roi_engagement: Engagement) -> None:
    statuses = gate_evaluate(engagement=roi_engagement, phase=Phase.SHIP)
    payback = next(s for s in statuses if s.criterion.provider_key == "roi.payback_months")
    assert payback.value is not None and "provider not available" not in (payback.detail or "")
    assert payback.passed == (payback.value <= 12)


def test_an_roi_that_never_pays_back_has_no_payback_value(engagement: Engagement, fde) -> None:
    from engagements.services import time_entry_create
    from engagements.services.roi import hourly_rate_create, valuation_rule_create

    kpi = kpi_create(engagement=engagement, actor=fde, name="Tickets", direction="lower", baseline=10, target=5)
    valuation_rule_create(engagement=engagement, actor=fde, kpi=kpi, kind="cost_avoided", unit_value=Decimal(1))
    hourly_rate_create(engagement=engagement, actor=fde, hourly_rate=Decimal(100), effective_from=dt.date(2026, 1, 1))
    time_entry_create(engagement=engagement, actor=fde, date=timezone.localdate(), hours=Decimal(8))
    roi_scenario_save(engagement=engagement, actor=fde, name="Expected", volume_per_month=Decimal(10))
    assert "does not pay back within" in _value(engagement, "roi.payback_months").detail
    assert _value(engagement, "roi.roi_percent").value == -100.0


@pytest.fixture
def measured_source() -> Iterator[list[list[int]]]:
    calls: list[list[int]] = []

    def source(ids: list[int]) -> dict[int, MeasuredPrices]:
        calls.append(ids)
        return {i: MeasuredPrices(currency="USD", hourly=2.0, detail="l4-pool: 2 × L4 at $1.00/h") for i in ids}

    infrastructure.register_price_source(source)
    yield calls
    infrastructure.unregister_price_source(source)


def test_measured_prices_replace_entered_ones_after_the_exchange_rate(
    roi_engagement: Engagement, fde, measured_source: list[list[int]]
) -> None:
    bundle = roi_bundle(engagement=roi_engagement, today=TODAY)
    assert bundle.plan.run.infra_hourly == pytest.approx(3.17)  # USD measured, EUR engagement: entered price kept
    assert any("set the exchange rate into EUR" in note for note in bundle.infra_notes)
    roi_assumptions_update(engagement=roi_engagement, actor=fde, measured_fx_rate=Decimal("0.9"))
    bundle = roi_bundle(engagement=roi_engagement, today=TODAY)
    assert bundle.plan.run.infra_hourly == pytest.approx(1.8)
    assert "Measured: l4-pool: 2 × L4 at $1.00/h" in bundle.infra_notes
    assert measured_source[-1] == [roi_engagement.pk]


def test_a_failing_price_source_leaves_the_entered_prices(roi_engagement: Engagement) -> None:
    def broken(ids: list[int]) -> dict[int, MeasuredPrices]:
        raise RuntimeError("call log unavailable")

    infrastructure.register_price_source(broken)
    try:
        assert roi_bundle(engagement=roi_engagement, today=TODAY).plan.run.infra_hourly == pytest.approx(3.17)
    finally:
        infrastructure.unregister_price_source(broken)


def _range_days(axis: dict) -> int:
    start, end = (dt.date.fromisoformat(str(v)[:10]) for v in axis["range"])
    return (end - start).days


def test_a_kpi_measured_once_today_gets_a_date_axis_days_wide(engagement: Engagement, fde) -> None:
    kpi = kpi_create(engagement=engagement, actor=fde, name="Handling time", unit="min", baseline=25, target=12)
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=timezone.localdate(), value=20)
    figure = charts.kpi_trend_figure(kpi)
    assert figure is not None
    axis = figure.to_plotly_json()["layout"]["xaxis"]
    assert axis["type"] == "date"
    assert _range_days(axis) >= 14
    assert axis["range"][0] < timezone.localdate().isoformat() < axis["range"][1]
    assert "%L" not in axis.get("tickformat", "") and "%S" not in axis.get("tickformat", "")


def test_a_kpi_measured_over_months_keeps_its_own_span(engagement: Engagement, fde) -> None:
    kpi = kpi_create(engagement=engagement, actor=fde, name="Accuracy", unit="%")
    for month in (1, 6):
        kpi_measurement_record(kpi=kpi, actor=fde, measured_on=dt.date(2026, month, 1), value=80 + month)
    axis = charts.kpi_trend_figure(kpi).to_plotly_json()["layout"]["xaxis"]  # type: ignore[union-attr]
    assert 151 <= _range_days(axis) <= 155


def test_effort_chart_with_one_week_is_weeks_wide() -> None:
    html = charts.effort_weekly_html([{"week": dt.date(2026, 4, 13), "user__first_name": "Fay", "hours": 8}])
    assert '"type":"date"' in html and '"range":["2026-03-' in html


def test_roi_chart_is_built_from_the_client_summary_with_a_date_axis(roi_engagement: Engagement) -> None:
    bundle = roi_bundle(engagement=roi_engagement, today=TODAY)
    assert bundle.primary is not None
    summary = roi_client_summary(
        bundle=bundle, scenario=bundle.primary, result=roi_compute(bundle=bundle, scenario=bundle.primary)
    )
    figure = json.loads(charts.roi_cumulative_chart(summary))
    assert figure["layout"]["xaxis"]["type"] == "date" and _range_days(figure["layout"]["xaxis"]) >= 330
    assert figure["layout"]["yaxis"]["tickprefix"] == "€"
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["Investment", "Investment (forecast)", "Benefit", "Benefit (forecast)"]
    texts = {a["text"] for a in figure["layout"]["annotations"]}
    assert "Go-live" in texts


def test_roi_chart_of_a_one_month_horizon_is_still_months_wide(roi_engagement: Engagement, fde) -> None:
    roi_assumptions_update(engagement=roi_engagement, actor=fde, horizon_months=1, go_live_month=dt.date(2026, 1, 1))
    bundle = roi_bundle(engagement=roi_engagement, today=TODAY)
    assert bundle.primary is not None
    summary = roi_client_summary(
        bundle=bundle, scenario=bundle.primary, result=roi_compute(bundle=bundle, scenario=bundle.primary)
    )
    axis = json.loads(charts.roi_cumulative_chart(summary))["layout"]["xaxis"]
    assert axis["type"] == "date" and _range_days(axis) >= 62
