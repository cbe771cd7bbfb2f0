from __future__ import annotations

import pytest

from engagements.services import (
    decision_create,
    record_set_client_visibility,
    requirement_create,
    risk_create,
)
from engagements.services.gates import criterion_create

pytestmark = pytest.mark.django_db

PORTAL_PAGES = [
    "/portal/engagements/{}/",
    "/portal/engagements/{}/summary/",
    "/portal/engagements/{}/summary.md",
    "/portal/engagements/{}/summary.html",
]


@pytest.fixture
def records(engagement, fde):
    phase = engagement.phase
    made = {
        "shown": [
            criterion_create(
                engagement=engagement, actor=fde, phase=phase, label="SHOWN-criterion", visible_to_client=True
            ),
            requirement_create(engagement=engagement, actor=fde, title="SHOWN-requirement", visible_to_client=True),
            risk_create(
                engagement=engagement, actor=fde, title="SHOWN-risk", likelihood=2, impact=2, visible_to_client=True
            ),
            decision_create(
                engagement=engagement, actor=fde, title="SHOWN-decision", decision="Go", visible_to_client=True
            ),
        ],
        "hidden": [
            criterion_create(engagement=engagement, actor=fde, phase=phase, label="HIDDEN-criterion"),
            requirement_create(engagement=engagement, actor=fde, title="HIDDEN-requirement"),
            risk_create(
                engagement=engagement,
                actor=fde,
                title="HIDDEN-risk",
                likelihood=5,
                impact=5,
                mitigation="HIDDEN-mitigation",
            ),
            decision_create(engagement=engagement, actor=fde, title="HIDDEN-decision", decision="HIDDEN-why"),
        ],
    }
    return made


@pytest.mark.parametrize("page", PORTAL_PAGES)
def test_the_portal_shows_only_records_marked_visible(member_http, engagement, records, page):
    body = member_http.get(page.format(engagement.uuid)).content.decode()
    for label in ("SHOWN-criterion", "SHOWN-requirement", "SHOWN-risk", "SHOWN-decision"):
        assert label in body
    assert "HIDDEN-" not in body


def test_hidden_records_stay_out_of_the_clients_activity_feed(member_http, engagement, records):
    body = member_http.get(f"/portal/engagements/{engagement.uuid}/").content.decode()
    assert "SHOWN-risk" in body
    assert "HIDDEN-" not in body


def test_the_gate_count_in_the_portal_counts_visible_criteria_only(member_http, engagement, records):
    body = member_http.get("/portal/").content.decode()
    # the template's default criteria plus the hidden one are not counted; only the one shown is
    assert "0 of 1 criteria met" in body


def test_an_fde_shows_a_hidden_risk_and_the_client_then_sees_it(fde_http, member_http, engagement, records):
    risk = records["hidden"][2]
    url = f"/engagements/{engagement.uuid}/risks/{risk.uuid}/visibility/"
    assert fde_http.post(url, {"visible": "1"}).status_code == 302
    assert "HIDDEN-risk" in member_http.get(f"/portal/engagements/{engagement.uuid}/").content.decode()
    fde_http.post(url, {"visible": "0"})
    assert "HIDDEN-risk" not in member_http.get(f"/portal/engagements/{engagement.uuid}/").content.decode()


def test_an_fde_shows_a_criterion_from_the_gate_panel(fde_http, member_http, engagement, records):
    criterion = records["hidden"][0]
    response = fde_http.post(
        f"/engagements/{engagement.uuid}/criteria/{criterion.uuid}/visibility/",
        {"visible": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and 'data-visible="1"' in response.content.decode()
    assert "HIDDEN-criterion" in member_http.get(f"/portal/engagements/{engagement.uuid}/").content.decode()


def test_client_users_cannot_change_visibility(member_http, engagement, records):
    risk = records["hidden"][2]
    response = member_http.post(f"/engagements/{engagement.uuid}/risks/{risk.uuid}/visibility/", {"visible": "1"})
    assert response.status_code == 404
    risk.refresh_from_db()
    assert risk.visible_to_client is False


def test_an_fde_not_on_the_engagement_cannot_change_visibility(other_fde, engagement, records):
    with pytest.raises(Exception):  # noqa: B017 - require_editor raises PermissionDenied
        record_set_client_visibility(record=records["hidden"][1], actor=other_fde, visible=True)


def test_the_fde_risk_form_offers_the_visibility_flag(fde_http, engagement):
    response = fde_http.post(
        f"/engagements/{engagement.uuid}/risks/new/",
        {"title": "Flagged", "likelihood": 2, "impact": 3, "status": "open", "visible_to_client": "on"},
    )
    assert response.status_code == 302
    assert engagement.risks.get(title="Flagged").visible_to_client is True


@pytest.mark.parametrize("page", PORTAL_PAGES)
def test_no_rates_or_internal_notes_reach_the_client(member_http, roi_engagement, page):
    body = member_http.get(page.format(roi_engagement.uuid)).content.decode()
    for internal in ("187.35", "43.21", "3.17", "INTERNAL-", "7.5"):
        assert internal not in body, internal


def test_the_portal_shows_the_roi_figures_and_chart(member_http, roi_engagement):
    body = member_http.get(f"/portal/engagements/{roi_engagement.uuid}/").content.decode()
    assert 'id="portal-roi-chart"' in body
    assert "Expected scenario" in body
