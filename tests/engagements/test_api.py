from __future__ import annotations

import json

from django.test import Client as HttpClient

from engagements.models import Engagement, Phase


def test_owning_fde_lists_engagements_with_gate_progress(fde_http: HttpClient, engagement: Engagement) -> None:
    response = fde_http.get("/api/engagements/")
    assert response.status_code == 200
    [row] = response.json()
    assert row["uuid"] == str(engagement.uuid) and row["phase"] == "discover" and row["criteria_total"] == 5


def test_client_member_reads_their_engagement_gate_and_kpis(member_http: HttpClient, engagement: Engagement) -> None:
    assert member_http.get(f"/api/engagements/{engagement.uuid}").json()["name"] == engagement.name
    gate = member_http.get(f"/api/engagements/{engagement.uuid}/gate").json()
    assert {c["label"] for c in gate} >= {"Data access granted"}
    assert member_http.get(f"/api/engagements/{engagement.uuid}/kpis").json() == []


def test_client_member_cannot_advance(member_http: HttpClient, engagement: Engagement) -> None:
    response = member_http.post(
        f"/api/engagements/{engagement.uuid}/advance",
        json.dumps({"override_reason": "please"}),
        content_type="application/json",
    )
    assert response.status_code == 404


def test_outsider_gets_404_on_the_api(outsider_http: HttpClient, engagement: Engagement) -> None:
    assert outsider_http.get("/api/engagements/").json() == []
    assert outsider_http.get(f"/api/engagements/{engagement.uuid}").status_code == 404
    assert outsider_http.get(f"/api/engagements/{engagement.uuid}/gate").status_code == 404


def test_advance_through_the_api_is_refused_then_overridden(fde_http: HttpClient, engagement: Engagement) -> None:
    url = f"/api/engagements/{engagement.uuid}/advance"
    refused = fde_http.post(url, json.dumps({}), content_type="application/json")
    assert refused.status_code == 409 and "The gate is not met" in refused.json()["detail"]
    stale = fde_http.post(
        url, json.dumps({"expected_phase": "ship", "override_reason": "x"}), content_type="application/json"
    )
    assert stale.status_code == 422 and "out of date" in stale.json()["detail"]
    done = fde_http.post(url, json.dumps({"override_reason": "Sponsor decision"}), content_type="application/json")
    assert done.status_code == 200 and done.json()["to_phase"] == "prototype"
    engagement.refresh_from_db()
    assert engagement.phase == Phase.PROTOTYPE
