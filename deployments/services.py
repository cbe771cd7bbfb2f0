"""Writes to deployments: registering and changing one, its health, and the hardware catalogue."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from deployments import vllm
from deployments.models import AlertWebhook, Deployment, HardwareType

# Fields a person may set on a deployment through the form, the API or a seed.
EDITABLE_FIELDS = (
    "name", "engine", "base_url", "served_model_name", "context_window", "engagement", "is_active", "environment",
    "model_source", "parameters_b", "num_layers", "num_attention_heads", "num_kv_heads", "head_dim",
    "max_position_embeddings", "hardware", "hardware_count", "quantization", "kv_cache_dtype",
    "tensor_parallel_size", "max_num_seqs", "gpu_memory_utilization", "cpu_kv_cache_gib", "enable_prefix_caching",
    "enable_chunked_prefill", "speculative_method", "speculative_model", "num_speculative_tokens",
    "priority_scheduling", "enforce_eager", "sla_ttft_p95_ms", "sla_itl_p95_ms", "sla_e2e_p95_ms",
    "sla_min_tokens_per_s", "sla_max_error_rate", "sla_window_minutes", "fallback", "gateway_concurrency",
)  # fmt: skip


def _check_engagement(*, engagement: Any, actor: Any) -> None:
    from engagements.selectors import engagement_user_can_edit

    if engagement is not None and actor is not None and not engagement_user_can_edit(engagement=engagement, user=actor):
        raise ValidationError({"engagement": "You can attach a deployment only to an engagement you work on."})


def _apply(deployment: Deployment, *, fields: dict[str, Any], api_key: str | None, clear_api_key: bool) -> bool:
    """Set fields and the key; returns whether the endpoint moved (so its health must be checked again)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    # Read from the database: a bound ModelForm has already copied its values onto the instance.
    old_url = Deployment.objects.filter(pk=deployment.pk).values_list("base_url", flat=True).first()
    for name, value in fields.items():
        setattr(deployment, name, value)
    moved = old_url is not None and old_url.rstrip("/") != deployment.base_url.rstrip("/")
    if api_key:
        deployment.api_key = api_key
    elif clear_api_key or moved:
        # A key belongs to the server it was issued for: never send it to a new address nobody entered it for.
        deployment.api_key = ""
    if moved or deployment.pk is None:
        deployment.health_ok, deployment.health_checked_at, deployment.health_error = None, None, ""
    deployment.full_clean()
    deployment.save()
    return moved


def _enqueue_health_check(deployment: Deployment) -> None:
    from deployments.tasks import check_deployment_health

    check_deployment_health.delay_on_commit(deployment_id=deployment.pk)


@transaction.atomic
def deployment_create(*, actor: Any, fields: dict[str, Any], api_key: str | None = None) -> Deployment:
    """Register a model endpoint; its first health check runs right after the commit."""
    _check_engagement(engagement=fields.get("engagement"), actor=actor)
    deployment = Deployment(created_by=actor if getattr(actor, "is_authenticated", False) else None)
    _apply(deployment, fields=fields, api_key=api_key, clear_api_key=False)
    _enqueue_health_check(deployment)
    return deployment


@transaction.atomic
def deployment_update(
    *,
    deployment: Deployment,
    actor: Any,
    fields: dict[str, Any],
    api_key: str | None = None,
    clear_api_key: bool = False,
) -> Deployment:
    """Change a deployment. A new base URL drops the stored API key unless a key is given with it."""
    from deployments.selectors import deployment_user_can_edit

    if actor is not None and not deployment_user_can_edit(deployment=deployment, user=actor):
        raise PermissionDenied("Only the engagement's team (or whoever registered a shared endpoint) may change it.")
    if "engagement" in fields and fields["engagement"] != deployment.engagement:
        _check_engagement(engagement=fields["engagement"], actor=actor)
    moved = _apply(deployment, fields=fields, api_key=api_key, clear_api_key=clear_api_key)
    if moved:
        _enqueue_health_check(deployment)
    return deployment


@transaction.atomic
def deployment_save(
    *,
    name: str,
    base_url: str,
    served_model_name: str,
    engine: str = Deployment.Engine.VLLM,
    api_key: str | None = None,
    engagement: object | None = None,
    context_window: int | None = None,
    **fields: Any,
) -> Deployment:
    """Create the deployment called ``name`` or update it (seeds, scripts); ``api_key=None`` keeps the stored key
    unless the base URL changes."""
    deployment = Deployment.objects.filter(name=name).first() or Deployment(name=name)
    values = {"base_url": base_url, "served_model_name": served_model_name, "engine": engine, "engagement": engagement}
    if context_window is not None:
        values["context_window"] = context_window
    _apply(deployment, fields={**values, **fields}, api_key=api_key, clear_api_key=False)
    return deployment


def deployment_check_health(*, deployment: Deployment) -> Deployment:
    """Ask the endpoint which models it serves and store the verdict; never raises for a down endpoint."""
    started = time.perf_counter()
    try:
        vllm.probe_models(deployment)
        error = ""
    except (vllm.ServerUnavailable, ValueError) as exc:  # ValueError: a stored key that no longer decrypts
        error = str(exc)
    latency_ms = (time.perf_counter() - started) * 1000
    Deployment.objects.filter(pk=deployment.pk).update(
        health_ok=not error,
        health_checked_at=timezone.now(),
        health_latency_ms=latency_ms,
        health_error=error[:300],
    )
    deployment.refresh_from_db(fields=["health_ok", "health_checked_at", "health_latency_ms", "health_error"])
    return deployment


@transaction.atomic
def hardware_type_save(*, actor: Any, hardware: HardwareType | None = None, **fields: Any) -> HardwareType:
    """Add a hardware type to the catalogue or change one (its price changes every cost figure that uses it)."""
    hardware = hardware or HardwareType()
    for name, value in fields.items():
        setattr(hardware, name, value)
    hardware.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    hardware.full_clean()
    hardware.save()
    return hardware


@transaction.atomic
def alert_webhook_set(*, engagement: Any, url: str) -> AlertWebhook | None:
    """Point the engagement's SLA alerts at a Slack-compatible webhook, or remove it with an empty ``url``."""
    if not url:
        AlertWebhook.objects.filter(engagement=engagement).delete()
        return None
    webhook = AlertWebhook.objects.filter(engagement=engagement).first() or AlertWebhook(engagement=engagement)
    webhook.url = url
    webhook.save()
    return webhook
