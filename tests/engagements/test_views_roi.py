from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from engagements.models import Activity, CostItem, Engagement, HourlyRate, RoiScenario, ValuationRule
from engagements.services import engagement_archive, engagement_create, kpi_create
from engagements.services.roi import roi_scenario_save

PAGES = ["roi", "roi_compare", "roi_inputs", "roi_preview"]


def _url(engagement: Engagement, name: str = "roi", **kwargs: str) -> str:
    return reverse(f"engagements:{name}", kwargs={"uuid": engagement.uuid, **kwargs})


def _scenario_data(**overrides: str) -> dict[str, str]:
    data = {
        "volume_per_month": "4000",
        "adoption_start_pct": "50",
        "adoption_target_pct": "85",
        "ramp_months": "6",
        "value_rate_pct": "100",
        "discount_rate_pct": "10",
        "outlook": "latest",
    }
    return data | overrides


def _figure(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert match, element_id
    return match.group(1)


@pytest.mark.parametrize("name", PAGES)
def test_owning_fde_sees_every_roi_view_in_the_engagements_currency(
    fde_http: HttpClient, roi_engagement: Engagement, name: str
) -> None:
    response = fde_http.get(_url(roi_engagement, name), _scenario_data() if name == "roi_preview" else {})
    page = response.content.decode()
    assert response.status_code == 200
    assert "€" in page and "$" not in re.sub(r"<script.*?</script>", "", page, flags=re.S)


def test_results_show_figures_chart_and_the_three_tiers(fde_http: HttpClient, roi_engagement: Engagement) -> None:
    page = fde_http.get(_url(roi_engagement)).content.decode()
    assert _figure(page, "roi-investment").startswith("€")
    assert 'class="plotly-chart" id="roi-chart" data-figure=' in page
    assert "Operational" in page and "Business" in page and "Financial outcome" in page
    assert "Handling time" in page and "Expected" in page


@pytest.mark.parametrize("name", PAGES)
def test_client_member_and_outsider_get_404_on_every_roi_view(
    member_http: HttpClient, outsider_http: HttpClient, roi_engagement: Engagement, name: str
) -> None:
    assert member_http.get(_url(roi_engagement, name)).status_code == 404
    assert outsider_http.get(_url(roi_engagement, name)).status_code == 404


def test_client_member_and_outsider_cannot_change_roi_inputs(
    member_http: HttpClient, outsider_http: HttpClient, roi_engagement: Engagement
) -> None:
    rate = HourlyRate.objects.get(engagement=roi_engagement)
    scenario = RoiScenario.objects.get(engagement=roi_engagement)
    for http in (member_http, outsider_http):
        assert (
            http.post(_url(roi_engagement, "roi_input_create", kind="rates"), {"hourly_rate": "1"}).status_code == 404
        )
        edit = _url(roi_engagement, "roi_rate_update", item=str(rate.uuid))
        assert http.post(edit, {"hourly_rate": "1", "effective_from": "2026-01-01"}).status_code == 404
        delete = _url(roi_engagement, "roi_scenario_action", item=str(scenario.uuid), action="delete")
        assert http.post(delete).status_code == 404
        assert http.post(_url(roi_engagement, "roi_scenario_save"), _scenario_data(name="X")).status_code == 404
    rate.refresh_from_db()
    assert rate.hourly_rate == Decimal("187.35") and RoiScenario.objects.filter(pk=scenario.pk).exists()


def test_unassigned_fde_may_look_but_not_change(other_fde: User, roi_engagement: Engagement) -> None:
    http = HttpClient()
    http.force_login(other_fde)
    assert http.get(_url(roi_engagement, "roi_inputs")).status_code == 200
    response = http.post(_url(roi_engagement, "roi_input_create", kind="costs"), {"name": "x", "amount": "1"})
    assert response.status_code == 403
    assert http.post(_url(roi_engagement, "roi_scenario_save"), _scenario_data(name="Mine")).status_code == 403
    assert not CostItem.objects.filter(name="x").exists()


def test_live_preview_recomputes_without_saving(fde_http: HttpClient, roi_engagement: Engagement) -> None:
    saved = RoiScenario.objects.get(engagement=roi_engagement)
    before = _figure(fde_http.get(_url(roi_engagement)).content.decode(), "roi-benefit")
    response = fde_http.get(
        _url(roi_engagement, "roi_preview"),
        _scenario_data(volume_per_month="8000", scenario=str(saved.uuid)),
        HTTP_HX_REQUEST="true",
    )
    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div id="roi-results"') and "<html" not in fragment
    assert "not saved" in fragment
    assert _figure(fragment, "roi-benefit") != before
    saved.refresh_from_db()
    assert saved.volume_per_month == 4000 and RoiScenario.objects.count() == 1


def test_live_preview_says_which_input_is_wrong(fde_http: HttpClient, roi_engagement: Engagement) -> None:
    response = fde_http.get(
        _url(roi_engagement, "roi_preview"), _scenario_data(adoption_target_pct="140"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Adoption after the ramp (%): Enter a number from 0 to 100." in response.content.decode()


def test_save_as_new_scenario_then_update_it(fde_http: HttpClient, roi_engagement: Engagement) -> None:
    response = fde_http.post(
        _url(roi_engagement, "roi_scenario_save"),
        _scenario_data(name="Peak season", save="new", volume_per_month="6000"),
    )
    peak = RoiScenario.objects.get(engagement=roi_engagement, name="Peak season")
    assert response.status_code == 302 and str(peak.uuid) in response["Location"]
    assert not peak.is_primary  # the first saved scenario stays the primary
    fde_http.post(
        _url(roi_engagement, "roi_scenario_save"),
        _scenario_data(name="Peak season", save="update", scenario=str(peak.uuid), volume_per_month="6500"),
    )
    peak.refresh_from_db()
    assert peak.volume_per_month == 6500
    assert Activity.objects.filter(verb="saved the ROI scenario", client_visible=False).count() >= 2


def test_saving_a_duplicate_name_says_so(fde_http: HttpClient, roi_engagement: Engagement) -> None:
    response = fde_http.post(_url(roi_engagement, "roi_scenario_save"), _scenario_data(name="Expected", save="new"))
    assert response.status_code == 200
    assert "A scenario with this name exists" in response.content.decode()
    assert RoiScenario.objects.filter(engagement=roi_engagement).count() == 1


def test_standard_scenarios_and_compare_and_primary(fde_http: HttpClient, roi_engagement: Engagement) -> None:
    fde_http.post(_url(roi_engagement, "roi_scenarios_standard"), {"volume_per_month": "5000"})
    names = dict(RoiScenario.objects.filter(engagement=roi_engagement).values_list("name", "volume_per_month"))
    assert names == {"Expected": 4000, "Conservative": 4000, "Optimistic": 6000}
    page = fde_http.get(_url(roi_engagement, "roi_compare")).content.decode()
    assert all(name in page for name in names) and 'id="roi-compare-chart"' in page
    optimistic = RoiScenario.objects.get(engagement=roi_engagement, name="Optimistic")
    fde_http.post(_url(roi_engagement, "roi_scenario_action", item=str(optimistic.uuid), action="primary"))
    assert RoiScenario.objects.get(engagement=roi_engagement, is_primary=True) == optimistic
    fde_http.post(_url(roi_engagement, "roi_scenario_action", item=str(optimistic.uuid), action="delete"))
    assert RoiScenario.objects.filter(engagement=roi_engagement, is_primary=True).count() == 1


def test_rates_costs_and_rules_are_added_edited_and_deleted_from_the_inputs_view(
    fde_http: HttpClient, roi_engagement: Engagement, fde: User
) -> None:
    add = _url(roi_engagement, "roi_input_create", kind="rates")
    response = fde_http.post(
        add, {"role": "engineer", "hourly_rate": "130", "effective_from": "2026-02-01"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'id="section"' in response.content.decode()
    rate = HourlyRate.objects.get(engagement=roi_engagement, role="engineer")
    fde_http.post(
        _url(roi_engagement, "roi_rate_update", item=str(rate.uuid)),
        {"hourly_rate": "135", "effective_from": "2026-02-01"},
    )
    rate.refresh_from_db()
    assert rate.hourly_rate == Decimal(135)
    fde_http.post(
        _url(roi_engagement, "roi_input_create", kind="costs"),
        {"name": "Licences", "category": "recurring", "amount": "99", "starts_on": "2026-03-01"},
    )
    assert CostItem.objects.get(name="Licences").category == "recurring"
    kpi = kpi_create(engagement=roi_engagement, actor=fde, name="Accuracy", unit="%", baseline=80, target=95)
    fde_http.post(
        _url(roi_engagement, "roi_input_create", kind="rules"),
        {"kpi": kpi.pk, "kind": "error_cost_avoided", "unit_value": "12", "per_volume": "on", "factor": ""},
    )
    assert ValuationRule.objects.get(kpi=kpi).factor == pytest.approx(0.01)
    fde_http.post(_url(roi_engagement, "roi_input_delete", kind="rates", item=str(rate.uuid)))
    assert not HourlyRate.objects.filter(pk=rate.pk).exists()


def test_a_rate_for_a_person_and_a_role_at_once_is_refused_with_a_reason(
    fde_http: HttpClient, roi_engagement: Engagement, fde: User
) -> None:
    response = fde_http.post(
        _url(roi_engagement, "roi_input_create", kind="rates"),
        {"user": fde.pk, "role": "lead", "hourly_rate": "10", "effective_from": "2026-02-01"},
        HTTP_HX_REQUEST="true",
    )
    assert "A rate is for a person or for a role, not both" in response.content.decode()
    assert HourlyRate.objects.filter(engagement=roi_engagement).count() == 1


def test_a_rule_for_another_engagements_kpi_is_refused(
    fde_http: HttpClient, roi_engagement: Engagement, fde: User, other_client_org
) -> None:
    other = engagement_create(client=other_client_org, name="Other", lead=fde)
    foreign = kpi_create(engagement=other, actor=fde, name="Foreign KPI", baseline=1, target=2)
    response = fde_http.post(
        _url(roi_engagement, "roi_input_create", kind="rules"),
        {"kpi": foreign.pk, "kind": "cost_avoided", "unit_value": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and not ValuationRule.objects.filter(kpi=foreign).exists()


def test_an_archived_engagement_refuses_roi_changes_with_a_message(
    fde_http: HttpClient, roi_engagement: Engagement, fde: User
) -> None:
    engagement_archive(engagement=roi_engagement, actor=fde)
    response = fde_http.post(
        _url(roi_engagement, "roi_input_create", kind="costs"),
        {"name": "Late", "category": "one_off", "amount": "5", "starts_on": "2026-03-01"},
        HTTP_HX_REQUEST="true",
    )
    assert "archived" in response.content.decode() and not CostItem.objects.filter(name="Late").exists()


def test_assumptions_are_saved_from_the_inputs_view(fde_http: HttpClient, roi_engagement: Engagement) -> None:
    data = {
        "start_month": "2026-01",
        "go_live_month": "2026-04",
        "horizon_months": "36",
        "volume_unit": "claims",
        "build_hours_per_month": "80",
        "support_hours_per_month": "10",
        "tokens_in_per_unit": "3000",
        "tokens_out_per_unit": "300",
        "infra_basis": "tokens",
        "infra_use_measured": "on",
        "infra_price_in_per_million": "0.15",
        "infra_price_out_per_million": "0.60",
        "infra_hours_per_month": "730",
    }
    fde_http.post(_url(roi_engagement, "roi_assumptions"), data)
    assumptions = roi_engagement.roi_assumptions
    assumptions.refresh_from_db()
    assert assumptions.go_live_month == dt.date(2026, 4, 1) and assumptions.horizon_months == 36
    assert assumptions.infra_basis == "tokens" and assumptions.infra_price_out_per_million == Decimal("0.60")


def _queries(http: HttpClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert http.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_compare_and_inputs_query_counts_do_not_grow_with_scenarios_rates_and_costs(
    fde_http: HttpClient, roi_engagement: Engagement, fde: User
) -> None:
    from engagements.services.roi import cost_item_create, hourly_rate_create

    urls = [_url(roi_engagement, "roi_compare"), _url(roi_engagement, "roi_inputs"), _url(roi_engagement)]
    few = [_queries(fde_http, url) for url in urls]
    for i in range(6):
        roi_scenario_save(engagement=roi_engagement, actor=fde, name=f"S{i}", volume_per_month=Decimal(100 * i))
        hourly_rate_create(
            engagement=roi_engagement, actor=fde, hourly_rate=Decimal(i), effective_from=dt.date(2026, 2, 1 + i)
        )
        cost_item_create(
            engagement=roi_engagement, actor=fde, name=f"C{i}", amount=Decimal(i), starts_on=dt.date(2026, 3, 1)
        )
    assert [_queries(fde_http, url) for url in urls] == few


def test_portfolio_rolls_up_primary_scenarios_per_currency_in_constant_queries(
    fde_http: HttpClient, roi_engagement: Engagement, fde: User, client_org
) -> None:
    url = reverse("engagements:roi_portfolio")
    page = fde_http.get(url).content.decode()
    assert roi_engagement.name in page and "in EUR" in page
    few = _queries(fde_http, url)
    for i in range(5):
        other = engagement_create(client=client_org, name=f"Engagement {i}", lead=fde, currency="GBP")
        roi_scenario_save(engagement=other, actor=fde, name="Expected", volume_per_month=Decimal(10))
    assert _queries(fde_http, url) == few
    page = fde_http.get(url).content.decode()
    assert "Not set up: no valuation rules" in page


def test_client_member_gets_404_on_the_portfolio(member_http: HttpClient, roi_engagement: Engagement) -> None:
    assert member_http.get(reverse("engagements:roi_portfolio")).status_code == 404


def test_roi_api_gives_the_client_figures_without_rates(
    member_http: HttpClient, outsider_http: HttpClient, fde_http: HttpClient, roi_engagement: Engagement
) -> None:
    url = f"/api/engagements/{roi_engagement.uuid}/roi"
    response = member_http.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    data = json.loads(body)
    assert data["currency"] == "EUR" and data["scenario"]["name"] == "Expected" and len(data["months"]) == 12
    assert "INTERNAL" not in body and "187.35" not in body and "43.21" not in body
    assert fde_http.get(url).json() == data
    assert outsider_http.get(url).status_code == 404


def test_roi_api_says_when_no_scenario_is_saved(fde_http: HttpClient, engagement: Engagement) -> None:
    response = fde_http.get(f"/api/engagements/{engagement.uuid}/roi")
    assert response.status_code == 404 and "No ROI scenario" in response.content.decode()
