from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import HardwareType, ModelCall
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims_model(engagement):
    deployment = deployment_save(
        name="Claims model", base_url="http://gpu-secret-host:8000/v1", served_model_name="m",
        engagement=engagement, hardware=HardwareType.objects.get(name="L4 24 GB"), sla_ttft_p95_ms=400,
    )  # fmt: skip
    for minutes in range(0, 60, 5):
        ModelCall.objects.create(
            deployment=deployment,
            engagement=engagement,
            caller="rag.ask",
            ttft_ms=200,
            total_ms=800,
            gap_mean_ms=12,
            created_at=timezone.now() - timedelta(minutes=minutes),
        )
    return deployment


def test_fde_lists_and_reads_deployments_with_internal_figures(fde_http, claims_model):
    [listed] = fde_http.get("/api/deployments/").json()
    assert listed["name"] == "Claims model" and listed["base_url"] == "http://gpu-secret-host:8000/v1"
    assert listed["hourly_usd"] == pytest.approx(0.805) and listed["sla"]["ttft_p95_ms"] == 400
    detail = fde_http.get(f"/api/deployments/{claims_model.uuid}").json()
    assert detail["hardware"] == "L4 24 GB"


def test_client_member_sees_their_engagements_deployment_without_hosts_or_prices(member_http, claims_model):
    [listed] = member_http.get("/api/deployments/").json()
    assert listed["base_url"] is None and listed["hourly_usd"] is None
    body = member_http.get(f"/api/deployments/{claims_model.uuid}").content.decode()
    assert "gpu-secret-host" not in body


def test_outsider_gets_404_everywhere(outsider_http, claims_model):
    assert outsider_http.get("/api/deployments/").json() == []
    for tail in ("", "/sla", "/latency"):
        assert outsider_http.get(f"/api/deployments/{claims_model.uuid}{tail}").status_code == 404


def test_sla_state_and_latency_series(fde_http, claims_model):
    from deployments.sla import deployment_sla_evaluate

    deployment_sla_evaluate(deployment_id=claims_model.pk)
    sla = fde_http.get(f"/api/deployments/{claims_model.uuid}/sla").json()
    assert sla["state"] == "no_data" and sla["figures"]["calls"] == 3  # fewer than SLA_MIN_CALLS in 15 min
    latency = fde_http.get(f"/api/deployments/{claims_model.uuid}/latency", {"range": "1h"}).json()
    assert latency["step_seconds"] == 60
    assert sum(p["calls"] for p in latency["gateway"]) == 12
    assert latency["gateway"][0]["ttft_ms"] == {"p50": 200.0, "p95": 200.0, "p99": 200.0}
    bad = fde_http.get(f"/api/deployments/{claims_model.uuid}/latency", {"range": "custom"})
    assert bad.status_code == 422 and "start time" in bad.json()["detail"]


def test_the_openapi_schema_documents_the_deployment_routes(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/deployments/", "/api/deployments/{uuid}", "/api/deployments/{uuid}/sla",
            "/api/deployments/{uuid}/latency"} <= set(paths)  # fmt: skip


def test_anonymous_callers_are_refused(client, claims_model):
    assert client.get("/api/deployments/").status_code == 401
