from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from engagements.models import Engagement, GateCriterion, Phase
from engagements.services import (
    decision_create,
    kpi_create,
    kpi_measurement_record,
    requirement_create,
    risk_create,
    stakeholder_create,
    time_entry_create,
)
from engagements.views.sections import SECTION_KEYS


def _url(engagement: Engagement, section: str = "overview") -> str:
    if section == "overview":
        return reverse("engagements:detail", kwargs={"uuid": engagement.uuid})
    return reverse("engagements:section", kwargs={"uuid": engagement.uuid, "section": section})


@pytest.mark.parametrize("section", sorted(SECTION_KEYS))
def test_owning_fde_sees_every_section(fde_http: HttpClient, engagement: Engagement, fde, section: str) -> None:
    stakeholder_create(engagement=engagement, actor=fde, name="Sam Sponsor", role="sponsor")
    risk_create(engagement=engagement, actor=fde, title="Data late", likelihood=4, impact=4)
    requirement_create(engagement=engagement, actor=fde, title="Cite sources", priority="must")
    decision_create(engagement=engagement, actor=fde, title="Damage claims first", decision="Start narrow")
    time_entry_create(engagement=engagement, actor=fde, date=engagement.created_at.date(), hours=Decimal("7.5"))
    kpi = kpi_create(engagement=engagement, actor=fde, name="Handling time", unit="min", baseline=25, target=10)
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=engagement.created_at.date(), value=22)
    response = fde_http.get(_url(engagement, section))
    assert response.status_code == 200
    assert engagement.name in response.content.decode()


@pytest.mark.parametrize("section", ["overview", "stakeholders", "kpis"])
def test_client_member_gets_404_in_the_fde_workspace(member_http: HttpClient, engagement: Engagement, section) -> None:
    assert member_http.get(_url(engagement, section)).status_code == 404


@pytest.mark.parametrize("section", ["overview", "risks"])
def test_outsider_gets_404_on_engagement_detail(outsider_http: HttpClient, engagement: Engagement, section) -> None:
    assert outsider_http.get(_url(engagement, section)).status_code == 404


def test_outsider_cannot_post_to_a_gate(outsider_http: HttpClient, engagement: Engagement) -> None:
    item = engagement.criteria.filter(kind="checklist")[0]
    url = reverse("engagements:criterion_check", kwargs={"uuid": engagement.uuid, "item": item.uuid})
    assert outsider_http.post(url, {"checked": "on"}).status_code == 404
    item.refresh_from_db()
    assert item.checked_at is None


def test_unknown_section_is_404(fde_http: HttpClient, engagement: Engagement) -> None:
    assert fde_http.get(_url(engagement, "payroll")).status_code == 404


def test_unassigned_fde_may_look_but_not_change(other_fde, engagement: Engagement) -> None:
    http = HttpClient()
    http.force_login(other_fde)
    page = http.get(_url(engagement)).content.decode()
    assert "Advance to" not in page
    url = reverse("engagements:record_create", kwargs={"uuid": engagement.uuid, "section": "risks"})
    assert http.post(url, {"title": "x", "likelihood": 1, "impact": 1, "status": "open"}).status_code == 403


def test_ticking_a_checklist_item_returns_the_gate_panel(fde_http: HttpClient, engagement: Engagement) -> None:
    item = engagement.criteria.get(label="Data access granted")
    url = reverse("engagements:criterion_check", kwargs={"uuid": engagement.uuid, "item": item.uuid})
    response = fde_http.post(url, {"checked": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="gate-panel"' in response.content.decode()
    item.refresh_from_db()
    assert item.checked_at is not None


def test_advance_refused_shows_failing_criteria_on_the_panel(fde_http: HttpClient, engagement: Engagement) -> None:
    url = reverse("engagements:advance", kwargs={"uuid": engagement.uuid})
    response = fde_http.post(url, {"expected_phase": "discover", "note": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "The gate is not met" in response.content.decode()
    engagement.refresh_from_db()
    assert engagement.phase == Phase.DISCOVER


def test_advance_from_a_stale_page_is_refused_with_a_message(fde_http: HttpClient, engagement: Engagement) -> None:
    url = reverse("engagements:advance", kwargs={"uuid": engagement.uuid})
    response = fde_http.post(url, {"expected_phase": "prototype", "override_reason": "go"}, HTTP_HX_REQUEST="true")
    assert "out of date" in response.content.decode()


def test_lead_override_advances_and_redirects(fde_http: HttpClient, engagement: Engagement) -> None:
    url = reverse("engagements:advance", kwargs={"uuid": engagement.uuid})
    response = fde_http.post(url, {"expected_phase": "discover", "override_reason": "Sponsor wants speed"})
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert engagement.phase == Phase.PROTOTYPE
    assert "Sponsor wants speed" in fde_http.get(_url(engagement)).content.decode()


def test_non_numeric_threshold_is_shown_on_the_form(fde_http: HttpClient, engagement: Engagement) -> None:
    url = reverse("engagements:criterion_create", kwargs={"uuid": engagement.uuid})
    data = {
        "phase": "discover",
        "kind": "metric",
        "label": "Docs",
        "provider_key": "rag.documents_ingested",
        "comparison": "gte",
        "threshold": "lots",
    }
    response = fde_http.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "is not a number" in response.content.decode()
    assert not engagement.criteria.filter(label="Docs").exists()


def test_criterion_for_a_provider_registered_later_shows_not_available(
    fde_http: HttpClient, engagement: Engagement, fde
) -> None:
    GateCriterion.objects.create(
        engagement=engagement, phase="discover", kind="metric", label="Future", provider_key="later.metric", threshold=1
    )
    page = fde_http.get(_url(engagement)).content.decode()
    assert "No metric provider “later.metric” is available yet." in page


def test_edit_with_dates_out_of_order_shows_the_error(fde_http: HttpClient, engagement: Engagement) -> None:
    url = reverse("engagements:edit", kwargs={"uuid": engagement.uuid})
    data = {"name": engagement.name, "health": "on_track", "start_date": "2026-05-01", "target_date": "2026-04-01"}
    response = fde_http.post(url, data)
    assert response.status_code == 200
    assert "target date is before the start date" in response.content.decode()


def test_create_engagement_makes_creator_lead(fde_http: HttpClient, client_org, fde) -> None:
    data = {"client": client_org.pk, "name": "Invoice matching", "health": "on_track"}
    response = fde_http.post(reverse("engagements:create"), data)
    engagement = Engagement.objects.get(name="Invoice matching")
    assert response.status_code == 302
    assert engagement.assignments.get().user == fde and engagement.assignments.get().role == "lead"


def test_editing_a_criterion_threshold_changes_the_gate(fde_http: HttpClient, engagement: Engagement) -> None:
    criterion = engagement.criteria.get(label="Executive sponsor identified")
    url = reverse("engagements:criterion_update", kwargs={"uuid": engagement.uuid, "item": criterion.uuid})
    data = {
        "label": "Two sponsors",
        "provider_key": criterion.provider_key,
        "comparison": "gte",
        "threshold": "2",
        "params_json": '{"role": "sponsor"}',
    }
    assert fde_http.post(url, data, HTTP_HX_REQUEST="true").status_code == 200
    criterion.refresh_from_db()
    assert (criterion.label, criterion.threshold, criterion.params) == ("Two sponsors", 2.0, {"role": "sponsor"})


def test_editing_a_criterion_with_a_bad_threshold_keeps_it_and_says_why(
    fde_http: HttpClient, engagement: Engagement
) -> None:
    criterion = engagement.criteria.get(label="Executive sponsor identified")
    url = reverse("engagements:criterion_update", kwargs={"uuid": engagement.uuid, "item": criterion.uuid})
    data = {"label": "x", "provider_key": criterion.provider_key, "comparison": "gte", "threshold": "one"}
    response = fde_http.post(url, data, HTTP_HX_REQUEST="true")
    assert "“one” is not a number" in response.content.decode()
    criterion.refresh_from_db()
    assert criterion.threshold == 1.0 and criterion.label == "Executive sponsor identified"


def test_changing_a_risk_status_from_its_row(fde_http: HttpClient, engagement: Engagement, fde) -> None:
    risk = risk_create(engagement=engagement, actor=fde, title="Data late", likelihood=4, impact=4)
    url = reverse("engagements:record_status", kwargs={"uuid": engagement.uuid, "section": "risks", "item": risk.uuid})
    response = fde_http.post(url, {"status": "closed"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="section"' in response.content.decode()
    risk.refresh_from_db()
    assert risk.status == "closed"
    assert engagement.activities.filter(verb="set risk status to closed:", target="Data late").exists()


def test_an_unknown_status_is_refused_with_a_message(fde_http: HttpClient, engagement: Engagement, fde) -> None:
    item = requirement_create(engagement=engagement, actor=fde, title="Cite sources")
    kwargs = {"uuid": engagement.uuid, "section": "requirements", "item": item.uuid}
    response = fde_http.post(reverse("engagements:record_status", kwargs=kwargs), {"status": "maybe"})
    assert response.status_code == 200 and "is not a valid choice" in response.content.decode()
    item.refresh_from_db()
    assert item.status == "proposed"


def test_effort_shows_hours_per_person_and_a_weekly_chart(fde_http: HttpClient, engagement: Engagement, fde) -> None:
    time_entry_create(engagement=engagement, actor=fde, date=engagement.created_at.date(), hours=Decimal("7.5"))
    time_entry_create(engagement=engagement, actor=fde, date=engagement.created_at.date(), hours=Decimal("2"))
    page = fde_http.get(_url(engagement, "effort")).content.decode()
    assert "Hours per week" in page and "data-figure=" in page
    assert "9.50 h" in page


def test_the_last_lead_cannot_be_removed_from_the_team(fde_http: HttpClient, engagement: Engagement, engineer) -> None:
    url = reverse("engagements:unassign", kwargs={"uuid": engagement.uuid})
    lead = engagement.assignments.get(role="lead")
    page = fde_http.post(url, {"assignment": lead.pk}, follow=True).content.decode()
    assert "needs at least one lead" in page
    assert engagement.assignments.filter(pk=lead.pk).exists()
    fde_http.post(url, {"assignment": engagement.assignments.get(user=engineer).pk})
    assert not engagement.assignments.filter(user=engineer).exists()


def test_kpi_measurement_and_csv_errors_show_on_the_kpi(fde_http: HttpClient, engagement: Engagement, fde) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    kpi = kpi_create(engagement=engagement, actor=fde, name="Handling time", unit="min")
    kwargs = {"uuid": engagement.uuid, "item": kpi.uuid}
    page = fde_http.post(
        reverse("engagements:kpi_measure", kwargs=kwargs), {"measured_on": "2026-09-01", "value": "abc"}
    )
    assert "Enter a number" in page.content.decode()
    upload = SimpleUploadedFile("m.csv", b"date,value\n2026-09-01,12\n2026-13-01,11\n", content_type="text/csv")
    page = fde_http.post(reverse("engagements:kpi_import", kwargs=kwargs), {"file": upload})
    assert "Nothing was imported" in page.content.decode() and "line 3" in page.content.decode()
    good = SimpleUploadedFile("m.csv", b"date,value\n2026-09-01,12\n2026-09-08,11\n", content_type="text/csv")
    assert fde_http.post(reverse("engagements:kpi_import", kwargs=kwargs), {"file": good}).status_code == 302
    assert kpi.measurements.count() == 2


def test_an_invalid_record_shows_its_form_errors(fde_http: HttpClient, engagement: Engagement) -> None:
    url = reverse("engagements:record_create", kwargs={"uuid": engagement.uuid, "section": "risks"})
    response = fde_http.post(
        url, {"title": "", "likelihood": "9", "impact": "2", "status": "open"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and "This field is required" in html and "Select a valid choice" in html
    assert not engagement.risks.exists()


def test_renaming_a_checklist_item(fde_http: HttpClient, engagement: Engagement) -> None:
    item = engagement.criteria.get(label="Data access granted")
    url = reverse("engagements:criterion_update", kwargs={"uuid": engagement.uuid, "item": item.uuid})
    fde_http.post(url, {"label": "Read access to the claims mailbox granted"}, HTTP_HX_REQUEST="true")
    item.refresh_from_db()
    assert item.label == "Read access to the claims mailbox granted" and item.kind == "checklist"


def test_changing_health_through_the_edit_form_is_in_the_feed(fde_http: HttpClient, engagement: Engagement) -> None:
    url = reverse("engagements:edit", kwargs={"uuid": engagement.uuid})
    data = {"name": engagement.name, "health": "at_risk", "health_reason": "Data access is three weeks late"}
    assert fde_http.post(url, data).status_code == 302
    engagement.refresh_from_db()
    assert engagement.health == "at_risk" and engagement.health_reason == "Data access is three weeks late"
    assert engagement.activities.filter(verb="set health to at risk on").exists()
