"""Celery tasks for the serving side: health checks, /metrics scrapes, SLA checks, alert webhooks and demo traffic.

Each periodic task fans out one task per deployment, so one slow or dead server costs its own short timeout and
never holds up the others.
"""

from __future__ import annotations

from typing import Any

import httpx
from celery import shared_task
from django.conf import settings

from deployments import scrape, sla
from deployments.demo import send_demo_traffic
from deployments.models import AlertWebhook, Deployment
from deployments.services import deployment_check_health


@shared_task(name="deployments.check_deployment_health", acks_late=True, max_retries=0, time_limit=60)
def check_deployment_health(*, deployment_id: int) -> bool | None:
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None:
        return None
    return deployment_check_health(deployment=deployment).health_ok


def _fan_out(task: Any, ids: list[int]) -> int:
    for deployment_id in ids:
        task.delay(deployment_id=deployment_id)
    return len(ids)


@shared_task(name="deployments.check_all_health", acks_late=True, max_retries=0, time_limit=60)
def check_all_health() -> int:
    return _fan_out(
        check_deployment_health, list(Deployment.objects.filter(is_active=True).values_list("pk", flat=True))
    )


@shared_task(name="deployments.scrape_metrics", acks_late=True, max_retries=0, time_limit=60)
def scrape_metrics(*, deployment_id: int) -> int | None:
    deployment = Deployment.objects.filter(pk=deployment_id, is_active=True).first()
    if deployment is None:
        return None
    return scrape.server_metrics_scrape(deployment=deployment).pk


@shared_task(name="deployments.scrape_all_metrics", acks_late=True, max_retries=0, time_limit=60)
def scrape_all_metrics() -> int:
    return _fan_out(scrape_metrics, scrape.scrape_targets())


@shared_task(name="deployments.evaluate_sla", acks_late=True, max_retries=0, time_limit=60)
def evaluate_sla(*, deployment_id: int) -> str | None:
    verdict = sla.deployment_sla_evaluate(deployment_id=deployment_id)
    return verdict.state if verdict else None


@shared_task(name="deployments.evaluate_slas", acks_late=True, max_retries=0, time_limit=60)
def evaluate_slas() -> int:
    return _fan_out(evaluate_sla, sla.sla_evaluate_targets())


@shared_task(name="deployments.prune_server_samples", acks_late=True, max_retries=0, time_limit=600)
def prune_server_samples() -> int:
    return scrape.server_samples_prune()


@shared_task(
    name="deployments.post_alert_webhook",
    bind=True,
    acks_late=True,
    max_retries=5,
    time_limit=60,
    autoretry_for=(httpx.TransportError, httpx.HTTPStatusError),
    retry_backoff=10,
    retry_backoff_max=600,
)
def post_alert_webhook(self: object, *, engagement_id: int, text: str) -> int | None:
    """Post a Slack-compatible message (``{"text": ...}``) to the engagement's webhook, retrying a few times."""
    webhook = AlertWebhook.objects.filter(engagement_id=engagement_id).first()
    if webhook is None:
        return None
    response = httpx.post(webhook.url, json={"text": text}, timeout=settings.MODEL_HEALTH_TIMEOUT * 5)
    if response.status_code >= 500 or response.status_code == 429:
        response.raise_for_status()
    return response.status_code


@shared_task(name="deployments.demo_traffic", ignore_result=True, max_retries=0, soft_time_limit=60, time_limit=90)
def demo_traffic() -> int:
    """One round of demo calls through the gateway (scheduled by beat when DEMO_TRAFFIC is on)."""
    return send_demo_traffic()


# A run's length is bounded by its form (levels x seconds per level); the hard limit only catches a wedged worker.
@shared_task(
    name="deployments.run_load_test", acks_late=True, max_retries=0, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60
)
def run_load_test(run_id: int) -> str | None:
    """Carry out a queued load test (see ``deployments.loadtest.services.loadtest_execute``)."""
    from deployments.loadtest.services import loadtest_execute

    run = loadtest_execute(run_id=run_id)
    return run.status if run else None
