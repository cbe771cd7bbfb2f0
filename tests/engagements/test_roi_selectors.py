from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from engagements.models import Engagement, Kpi
from engagements.roi.inputs import roi_bundle
from engagements.roi.selectors import roi_client_summary, roi_compute
from engagements.services import engagement_assign, time_entry_create
from engagements.services.roi import (
    hourly_rate_create,
)

TODAY = dt.date(2026, 4, 15)


def _log(engagement: Engagement, person, day: dt.date, hours: str) -> None:
    time_entry_create(engagement=engagement, actor=person, date=day, hours=Decimal(hours))


def test_time_is_priced_with_the_rate_in_force_on_its_day_person_before_role_before_default(
    engagement: Engagement, fde, other_fde
) -> None:
    engagement_assign(engagement=engagement, user=other_fde, role="engineer")
    hourly_rate_create(engagement=engagement, actor=fde, hourly_rate=Decimal(100), effective_from=dt.date(2026, 1, 1))
    hourly_rate_create(
        engagement=engagement, actor=fde, role="engineer", hourly_rate=Decimal(120), effective_from=dt.date(2026, 1, 1)
    )
    hourly_rate_create(
        engagement=engagement, actor=fde, user=fde, hourly_rate=Decimal(200), effective_from=dt.date(2026, 1, 15)
    )
    hourly_rate_create(
        engagement=engagement, actor=fde, user=fde, hourly_rate=Decimal(220), effective_from=dt.date(2026, 2, 1)
    )
    hourly_rate_create(  # another role's later rate must not end the engineers' rate
        engagement=engagement, actor=fde, role="advisor", hourly_rate=Decimal(90), effective_from=dt.date(2026, 1, 18)
    )
    _log(engagement, fde, dt.date(2026, 1, 10), "2")  # before Fay's own rate: her role is lead, no lead rate → 100
    _log(engagement, fde, dt.date(2026, 1, 20), "3")  # Fay's own rate → 200
    _log(engagement, other_fde, dt.date(2026, 1, 20), "5")  # engineer rate → 120
    _log(engagement, other_fde, dt.date(2026, 2, 3), "1.5")
    _log(engagement, fde, dt.date(2026, 2, 3), "2")  # Fay's second rate → 220
    labour = roi_bundle(engagement=engagement, today=TODAY).plan.labour
    assert labour[dt.date(2026, 1, 1)].hours == 10
    assert labour[dt.date(2026, 1, 1)].cost == 2 * 100 + 3 * 200 + 5 * 120
    assert labour[dt.date(2026, 2, 1)].cost == 1.5 * 120 + 2 * 220
    assert labour[dt.date(2026, 1, 1)].unpriced_hours == 0


def test_time_before_any_rate_is_unpriced_and_said_so(engagement: Engagement, fde) -> None:
    hourly_rate_create(engagement=engagement, actor=fde, hourly_rate=Decimal(90), effective_from=dt.date(2026, 3, 1))
    _log(engagement, fde, dt.date(2026, 2, 27), "4")
    _log(engagement, fde, dt.date(2026, 3, 2), "1")
    labour = roi_bundle(engagement=engagement, today=TODAY).plan.labour
    assert labour[dt.date(2026, 2, 1)].unpriced_hours == 4 and labour[dt.date(2026, 2, 1)].cost == 0
    assert labour[dt.date(2026, 3, 1)].cost == 90


def test_editing_a_rate_prices_logged_time_again(engagement: Engagement, fde) -> None:
    from engagements.services.roi import hourly_rate_update

    rate = hourly_rate_create(
        engagement=engagement, actor=fde, hourly_rate=Decimal(90), effective_from=dt.date(2026, 1, 1)
    )
    _log(engagement, fde, dt.date(2026, 3, 2), "2")
    hourly_rate_update(rate=rate, actor=fde, hourly_rate=Decimal(110))
    assert roi_bundle(engagement=engagement, today=TODAY).plan.labour[dt.date(2026, 3, 1)].cost == 220


def test_client_summary_has_the_figures_but_no_rates_hours_rules_or_notes(roi_engagement: Engagement) -> None:
    bundle = roi_bundle(engagement=roi_engagement, today=TODAY)
    scenario = bundle.primary
    assert scenario is not None
    result = roi_compute(bundle=bundle, scenario=scenario)
    summary = roi_client_summary(bundle=bundle, scenario=scenario, result=result)
    text = json.dumps(summary, cls=DjangoJSONEncoder)
    for secret in ("INTERNAL", "hourly", "value_rate", "unit_value", "hours", "factor", "note"):
        assert secret not in text, secret
    for rate in ("187.35", "3.17", "43.21", "730"):  # the FDE rate, infrastructure price and hours, valuation rate
        assert not re.search(rf"(?<![\d.]){re.escape(rate)}(?![\d])", text), rate
    assert summary["currency"] == "EUR"
    assert summary["figures"]["total_investment"] == pytest.approx(result.total_investment, abs=0.01)
    assert len(summary["months"]) == 12
    assert summary["tiers"][0]["kpis"][0]["name"] == "Handling time"
    assert set(summary) == {
        "currency",
        "scenario",
        "start_month",
        "go_live_month",
        "horizon_months",
        "figures",
        "investment_by_line",
        "months",
        "tiers",
    }


def test_rule_factor_is_suggested_from_the_kpis_unit(roi_engagement: Engagement) -> None:
    rule = roi_bundle(engagement=roi_engagement, today=TODAY).rules[0]
    assert rule.factor == pytest.approx(1 / 60)
    assert Kpi.objects.get(pk=rule.kpi_id).unit == "min"
