from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment, ModelCall, SlaAlert
from deployments.services import alert_webhook_set, deployment_save
from deployments.sla import deployment_sla_evaluate
from tests.fixtures_services import wait_for

SLA = {"sla_ttft_p95_ms": 500, "sla_max_error_rate": 10, "sla_window_minutes": 15}


def _calls(deployment, engagement, at, ttft_ms, n=10, status="ok"):
    ModelCall.objects.bulk_create(
        ModelCall(deployment=deployment, engagement=engagement, caller="rag.ask", status=status, ttft_ms=ttft_ms,
                  total_ms=(ttft_ms or 0) + 400, gap_mean_ms=20, completion_tokens=20, created_at=at)
        for _ in range(n)
    )  # fmt: skip


@pytest.fixture
def watched(engagement):
    return deployment_save(
        name="Claims model", base_url="http://127.0.0.1:9/v1", served_model_name="m", engagement=engagement, **SLA
    )


@pytest.mark.django_db
def test_a_breach_opens_an_alert_only_once_it_lasts_a_whole_window(watched, engagement):
    now = timezone.now()
    _calls(watched, engagement, now - timedelta(minutes=1), ttft_ms=900)
    verdict = deployment_sla_evaluate(deployment_id=watched.pk, now=now)
    assert verdict.state == "breached"
    assert "p95 time to first token 900.0 ms is above the SLA's 500.0" in verdict.breaches[0]
    assert not SlaAlert.objects.exists()  # a breach of one check is not yet sustained

    later = now + timedelta(minutes=15)
    _calls(watched, engagement, later - timedelta(minutes=1), ttft_ms=800)
    deployment_sla_evaluate(deployment_id=watched.pk, now=later)
    alert = SlaAlert.objects.get()
    assert alert.is_open and alert.breach_started_at == now
    event = engagement.activities.get(verb="SLA breach opened on")
    assert event.target == "Claims model" and not event.client_visible
    assert event.url == f"/deployments/{watched.uuid}/"

    deployment_sla_evaluate(deployment_id=watched.pk, now=later + timedelta(minutes=1))
    assert SlaAlert.objects.count() == 1  # still one open alert, not a new one per check


@pytest.mark.django_db
def test_the_alert_closes_itself_when_the_sla_holds_again(watched, engagement):
    now = timezone.now()
    _calls(watched, engagement, now - timedelta(minutes=16), ttft_ms=900)
    deployment_sla_evaluate(deployment_id=watched.pk, now=now - timedelta(minutes=15))
    _calls(watched, engagement, now - timedelta(minutes=1), ttft_ms=900)
    deployment_sla_evaluate(deployment_id=watched.pk, now=now)
    assert SlaAlert.objects.get().is_open

    recovered = now + timedelta(minutes=20)
    _calls(watched, engagement, recovered - timedelta(minutes=2), ttft_ms=100)
    verdict = deployment_sla_evaluate(deployment_id=watched.pk, now=recovered)
    assert verdict.state == "met"
    assert SlaAlert.objects.get().closed_at == recovered
    assert engagement.activities.filter(verb="SLA breach closed on").exists()
    watched.refresh_from_db()
    assert watched.sla_state == "met" and watched.sla_breach_since is None


@pytest.mark.django_db
def test_too_few_calls_give_no_verdict_and_errors_count_against_the_sla(watched, engagement):
    now = timezone.now()
    _calls(watched, engagement, now - timedelta(minutes=1), ttft_ms=100, n=3)
    assert deployment_sla_evaluate(deployment_id=watched.pk, now=now).state == "no_data"
    _calls(watched, engagement, now - timedelta(minutes=1), ttft_ms=100, n=7)
    _calls(watched, engagement, now - timedelta(minutes=1), ttft_ms=None, n=2, status="error")
    verdict = deployment_sla_evaluate(deployment_id=watched.pk, now=now)
    assert verdict.figures["error_rate"] == pytest.approx(100 * 2 / 12)
    assert verdict.breaches == ["error rate 16.7 % is above the SLA's 10.0"]


@pytest.mark.django_db
def test_a_deployment_without_sla_targets_is_not_judged(engagement):
    plain = deployment_save(name="Plain", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    assert deployment_sla_evaluate(deployment_id=plain.pk).state == "unset"


def test_an_open_alert_is_posted_to_the_engagements_webhook_by_a_real_worker(
    celery_worker, stand_in, engagement, settings
):
    stand_in.routes["/hooks/alerts"] = (200, "text/plain", "ok")
    settings.SITE_URL = "https://fde.example.com"
    watched = deployment_save(
        name="Claims model", base_url="http://127.0.0.1:9/v1", served_model_name="m", engagement=engagement, **SLA
    )
    alert_webhook_set(engagement=engagement, url=f"{stand_in.url}/hooks/alerts")
    now = timezone.now()
    _calls(watched, engagement, now - timedelta(minutes=16), ttft_ms=900)
    _calls(watched, engagement, now - timedelta(minutes=1), ttft_ms=900)
    deployment_sla_evaluate(deployment_id=watched.pk, now=now - timedelta(minutes=15))
    deployment_sla_evaluate(deployment_id=watched.pk, now=now)
    wait_for(lambda: stand_in.requests, message="the webhook to be called")
    [posted] = stand_in.requests
    text = json.loads(posted["body"])["text"]
    assert "SLA breach on Claims model" in text and "p95 time to first token" in text
    assert f"https://fde.example.com/deployments/{watched.uuid}/" in text
    assert Deployment.objects.get(pk=watched.pk).sla_state == "breached"
