from __future__ import annotations

from typing import Any

from django.conf import settings

from deployments.applications import application_create, gateway_key_create
from deployments.demo import DESK_APP, TRIAGE_APP, demo_key
from deployments.models import ClientApplication, Deployment, GatewayKey, Priority
from deployments.proxy.routes import key_digest
from deployments.services import deployment_save

LOCAL_VLLM_NAME = "Local vLLM (SmolLM2-135M)"


def seed(people: dict[str, Any]) -> dict[str, Any]:
    local = deployment_save(
        name=LOCAL_VLLM_NAME,
        base_url=settings.LOCAL_VLLM_URL,
        served_model_name=settings.LOCAL_VLLM_MODEL,
        context_window=2048,
        engine=Deployment.Engine.VLLM,
    )
    if local.gateway_concurrency > 8:
        local.gateway_concurrency = 8  # the local server runs at most 8 sequences at once (--max-num-seqs 8)
        local.save(update_fields=["gateway_concurrency"])
    engagement = people.get("demo_engagement")
    if engagement is not None:
        _seed_demo_applications(engagement=engagement, local=local, lead=people.get("lead"))
    return {"local_vllm": local}


def _seed_demo_applications(*, engagement: Any, local: Deployment, lead: Any) -> None:
    """The demo client's two applications, each with a key that the demo traffic task derives on its own."""
    applications = {}
    for name, priority, description in (
        (DESK_APP, Priority.INTERACTIVE, "Answers customers' claim questions; fixed instructions come first."),
        (TRIAGE_APP, Priority.BATCH, "Sorts incoming e-mail; its template puts the subject before the instructions."),
    ):
        applications[name] = ClientApplication.objects.filter(engagement=engagement, name=name).first() or (
            application_create(engagement=engagement, name=name, actor=lead, description=description, priority=priority)
        )
    for name, application in applications.items():
        raw = demo_key(name)
        if not GatewayKey.objects.filter(digest=key_digest(raw)).exists():
            gateway_key_create(
                application=application,
                name="demo traffic",
                deployments=[local],
                actor=lead,
                requests_per_minute=600,
                raw=raw,
            )
