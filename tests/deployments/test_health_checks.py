from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment
from deployments.services import deployment_check_health, deployment_save
from deployments.tasks import check_all_health
from tests.fixtures_services import wait_for

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_stored_check_and_never_calls_the_endpoint(fde_http, stand_in):
    # Provider staff read the detailed view; anonymous callers get up/down only (tests/test_health.py).
    client = fde_http
    stand_in.serve_models("llama")
    deployment = deployment_save(
        name="Client GPU", base_url=f"{stand_in.url}/v1", served_model_name="llama", api_key="sk-client-key"
    )
    [model] = client.get("/healthz").json()["models"]
    assert model["ok"] is False and model["error"] == "not checked yet"
    assert stand_in.requests == []

    deployment_check_health(deployment=deployment)
    assert [r["headers"]["Authorization"] for r in stand_in.requests] == ["Bearer sk-client-key"]
    [model] = client.get("/healthz").json()["models"]
    assert model["ok"] is True and model["latency_ms"] >= 0 and model["checked_at"]
    client.get("/metrics")
    assert len(stand_in.requests) == 1  # neither /healthz nor /metrics called out


def test_a_server_that_answers_without_the_model_is_not_healthy(stand_in):
    stand_in.serve_models("something-else")
    deployment = deployment_save(name="Wrong model", base_url=f"{stand_in.url}/v1", served_model_name="llama")
    deployment_check_health(deployment=deployment)
    assert deployment.health_ok is False
    assert "does not serve 'llama'" in deployment.health_error


def test_a_check_older_than_four_intervals_counts_as_down(fde_http, stand_in):
    client = fde_http
    stand_in.serve_models("llama")
    deployment = deployment_save(name="Client GPU", base_url=f"{stand_in.url}/v1", served_model_name="llama")
    deployment_check_health(deployment=deployment)
    Deployment.objects.filter(pk=deployment.pk).update(health_checked_at=timezone.now() - timedelta(minutes=10))
    [model] = client.get("/healthz").json()["models"]
    assert model["ok"] is False and "is Celery beat running" in model["error"]


def test_a_new_base_url_forgets_the_old_verdict(stand_in):
    stand_in.serve_models("llama")
    deployment = deployment_save(name="Client GPU", base_url=f"{stand_in.url}/v1", served_model_name="llama")
    deployment_check_health(deployment=deployment)
    moved = deployment_save(name="Client GPU", base_url="http://127.0.0.1:9/v1", served_model_name="llama")
    assert moved.health_ok is None and moved.health_checked_at is None


@pytest.mark.celery_worker
def test_the_periodic_check_runs_on_a_real_worker_and_stores_its_result(celery_worker, stand_in):
    stand_in.serve_models("llama")
    up = deployment_save(name="Up", base_url=f"{stand_in.url}/v1", served_model_name="llama")
    down = deployment_save(name="Down", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    check_all_health.delay()
    wait_for(
        lambda: Deployment.objects.filter(pk__in=[up.pk, down.pk], health_checked_at__isnull=False).count() == 2,
        message="both deployments to be checked",
    )
    assert Deployment.objects.get(pk=up.pk).health_ok is True
    assert Deployment.objects.get(pk=down.pk).health_ok is False
