from __future__ import annotations

import pytest

from deployments.services import deployment_check_health, deployment_save


@pytest.mark.django_db
def test_healthz_reports_database_with_pgvector_and_redis(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["database"]["pgvector"].startswith("0.")
    assert body["redis"]["ok"] is True
    assert body["database"]["latency_ms"] >= 0


@pytest.mark.django_db
def test_healthz_without_a_worker_is_degraded_not_down(client):
    body = client.get("/healthz").json()
    assert body["worker"]["ok"] is False
    assert "heartbeat" in body["worker"]["error"]
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_model_endpoint_quickly(client):
    deployment_check_health(
        deployment=deployment_save(name="Nowhere", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    )
    body = client.get("/healthz").json()
    [model] = body["models"]
    assert model["name"] == "Nowhere"
    assert model["ok"] is False
    assert model["latency_ms"] < 5000


def test_healthz_sees_a_real_worker_heartbeat(celery_worker, client):
    body = client.get("/healthz").json()
    assert body["worker"]["ok"] is True
    assert body["worker"]["workers"] == 1


def test_healthz_sees_the_local_vllm(vllm_server, client, transactional_db):
    local = deployment_save(name="Local", base_url=vllm_server["base_url"], served_model_name=vllm_server["model"])
    deployment_check_health(deployment=local)
    body = client.get("/healthz").json()
    assert [m["ok"] for m in body["models"]] == [True]


def test_health_badge_needs_login(client, db):
    response = client.get("/health/badge/")
    assert response.status_code == 302


@pytest.mark.django_db
def test_metrics_exposes_component_health_for_prometheus(client):
    deployment_save(name="Nowhere", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    response = client.get("/metrics")
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert 'fde_component_up{component="database"} 1.0' in text
    assert 'fde_model_endpoint_up{deployment="Nowhere",model="x"} 0.0' in text
