"""Demo seed: the local vLLM, registered with its real shape (read from the converted model's config.json), the CPU
hardware it runs on and an SLA a 135M model on two cores can be held to."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from deployments.applications import application_create, gateway_key_create
from deployments.catalogue import catalogue_seed
from deployments.demo import DESK_APP, TRIAGE_APP, demo_key
from deployments.modelconfig import shape_from_config
from deployments.models import ClientApplication, Deployment, GatewayKey, HardwareType, Priority
from deployments.proxy.routes import key_digest
from deployments.services import deployment_save

LOCAL_VLLM_NAME = "Local vLLM (SmolLM2-135M)"
LOCAL_MODEL_DIR = "var/models/smollm2-135m"


def local_model_shape() -> dict[str, Any]:
    config = Path(settings.BASE_DIR) / LOCAL_MODEL_DIR / "config.json"
    if not config.exists():
        return {}
    return shape_from_config(config.read_text()).as_fields()


def seed(people: dict[str, Any]) -> dict[str, Any]:
    catalogue_seed(HardwareType)
    local = deployment_save(
        name=LOCAL_VLLM_NAME,
        base_url=settings.LOCAL_VLLM_URL,
        served_model_name=settings.LOCAL_VLLM_MODEL,
        context_window=2048,
        engine=Deployment.Engine.VLLM,
        environment="dev",
        model_source=LOCAL_MODEL_DIR,
        hardware=HardwareType.objects.filter(is_cpu=True).order_by("pk").first(),
        hardware_count=1,
        quantization="bf16",
        max_num_seqs=8,
        cpu_kv_cache_gib=Decimal(str(settings.VLLM_CPU_KVCACHE_SPACE)),
        enforce_eager=True,
        sla_ttft_p95_ms=1500,
        sla_itl_p95_ms=150,
        sla_e2e_p95_ms=10000,
        sla_min_tokens_per_s=Decimal("6"),
        sla_max_error_rate=Decimal("5"),
        sla_window_minutes=15,
        **local_model_shape(),
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
