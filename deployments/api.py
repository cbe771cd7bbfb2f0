"""REST endpoints for deployments: the fleet, one deployment, its SLA state and its latency series.

Provider staff see every deployment; a client's users see the deployments of their own client's engagements, without
the internal figures (base URL, hardware prices, costs). Anything else answers 404.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from accounts.selectors import user_is_provider
from deployments.models import Deployment
from deployments.selectors import deployment_get_for_user, deployment_list_for_user
from deployments.series import gateway_series, parse_range, server_series
from deployments.sla import sla_targets

router = Router(tags=["Deployments"])


class SlaTargetsOut(Schema):
    ttft_p95_ms: float | None = None
    itl_p95_ms: float | None = None
    e2e_p95_ms: float | None = None
    tokens_per_s: float | None = None
    error_rate: float | None = None
    window_minutes: int


class DeploymentOut(Schema):
    uuid: UUID
    name: str
    engine: str
    served_model_name: str
    environment: str
    engagement: UUID | None
    is_active: bool
    model_source: str
    parameters_b: Decimal | None
    num_layers: int | None
    num_kv_heads: int | None
    head_dim: int | None
    max_model_len: int
    quantization: str
    hardware: str | None
    hardware_count: int
    health_ok: bool | None
    health_checked_at: datetime | None
    sla_state: str
    sla: SlaTargetsOut
    base_url: str | None = None  # provider staff only
    hourly_usd: float | None = None  # provider staff only


class SlaOut(Schema):
    state: str
    checked_at: datetime | None
    breach_since: datetime | None
    targets: SlaTargetsOut
    figures: dict[str, Any]
    open_alert: str | None


class PercentilesOut(Schema):
    p50: float | None
    p95: float | None
    p99: float | None


class GatewayPoint(Schema):
    t: datetime
    calls: int
    errors: int
    ttft_ms: PercentilesOut
    itl_ms: PercentilesOut
    e2e_ms: PercentilesOut
    prompt_tokens: int
    completion_tokens: int


class ServerPoint(Schema):
    t: datetime
    ttft_ms: PercentilesOut
    itl_ms: PercentilesOut
    e2e_ms: PercentilesOut
    requests: float | None
    prompt_tokens_per_s: float | None
    generation_tokens_per_s: float | None
    prefix_cache_hit_rate: float | None
    preemptions: float | None
    running: float | None
    waiting: float | None
    kv_cache_usage: float | None


class LatencyOut(Schema):
    start: datetime
    end: datetime
    step_seconds: int
    gateway: list[GatewayPoint]
    server: list[ServerPoint]


class RangeIn(Schema):
    range: Literal["1h", "24h", "7d", "custom"] = "24h"
    start: datetime | None = None
    end: datetime | None = None


def _targets(d: Deployment) -> dict[str, Any]:
    return {**sla_targets(d), "window_minutes": d.sla_window_minutes}


def _out(d: Deployment, provider: bool) -> dict[str, Any]:
    return {
        "uuid": d.uuid,
        "name": d.name,
        "engine": d.engine,
        "served_model_name": d.served_model_name,
        "environment": d.environment,
        "engagement": d.engagement.uuid if d.engagement else None,
        "is_active": d.is_active,
        "model_source": d.model_source,
        "parameters_b": d.parameters_b,
        "num_layers": d.num_layers,
        "num_kv_heads": d.num_kv_heads,
        "head_dim": d.head_dim,
        "max_model_len": d.context_window,
        "quantization": d.quantization,
        "hardware": d.hardware.name if d.hardware else None,
        "hardware_count": d.hardware_count,
        "health_ok": d.health_ok,
        "health_checked_at": d.health_checked_at,
        "sla_state": d.sla_state,
        "sla": _targets(d),
        "base_url": d.base_url if provider else None,
        "hourly_usd": float(d.hardware.hourly_price_usd) * d.hardware_count if provider and d.hardware else None,
    }


def _get(request: HttpRequest, uuid: UUID) -> Deployment:
    deployment = deployment_get_for_user(user=request.user, uuid=uuid)
    if deployment is None:
        raise Http404("No such deployment.")
    return deployment


@router.get("/", response=list[DeploymentOut])
def list_deployments(request: HttpRequest) -> Any:
    provider = user_is_provider(request.user)
    return [_out(d, provider) for d in deployment_list_for_user(user=request.user).select_related("hardware")]


@router.get("/{uuid}", response=DeploymentOut)
def get_deployment(request: HttpRequest, uuid: UUID) -> Any:
    return _out(_get(request, uuid), user_is_provider(request.user))


@router.get("/{uuid}/sla", response=SlaOut)
def get_sla(request: HttpRequest, uuid: UUID) -> Any:
    """The last SLA verdict (judged every minute over the SLA's window) and the open alert, if any."""
    d = _get(request, uuid)
    alert = d.alerts.filter(closed_at__isnull=True).first()
    return {
        "state": d.sla_state,
        "checked_at": d.sla_checked_at,
        "breach_since": d.sla_breach_since,
        "targets": _targets(d),
        "figures": d.sla_figures,
        "open_alert": alert.summary if alert else None,
    }


def _p(values: list[float | None]) -> dict[str, float | None]:
    return {"p50": values[0], "p95": values[1], "p99": values[2]}


@router.get("/{uuid}/latency", response=LatencyOut)
def get_latency(request: HttpRequest, uuid: UUID, params: Query[RangeIn]) -> Any:
    """Latency percentiles over time from the gateway's log and the server's histograms, in time buckets.

    ``range`` is 1h, 24h or 7d, or ``custom`` with ``start`` and ``end`` (ISO 8601); buckets are chosen so the
    range has at most 200 of them. The gateway's percentiles in buckets of an hour or more come from hourly
    log-spaced latency histograms and are within 4.4 % of the exact ones; shorter buckets are exact.
    """
    d = _get(request, uuid)
    window = parse_range(
        {"range": params.range, "start": params.start.isoformat() if params.start else None,
         "end": params.end.isoformat() if params.end else None}
    )  # fmt: skip
    if window.error:
        raise HttpError(422, window.error)
    step = window.step
    g = gateway_series(deployment=d, start=window.start, end=window.end, step=step)
    s = server_series(deployment=d, start=window.start, end=window.end, step=step)
    gateway = [
        {"t": g.t[i], "calls": g.calls[i], "errors": g.errors[i], "ttft_ms": _p(g.ttft[i]), "itl_ms": _p(g.itl[i]),
         "e2e_ms": _p(g.e2e[i]), "prompt_tokens": g.prompt_tokens[i], "completion_tokens": g.completion_tokens[i]}
        for i in range(len(g.t))
    ]  # fmt: skip
    server = [
        {"t": s.t[i], "ttft_ms": _p(s.ttft[i]), "itl_ms": _p(s.itl[i]), "e2e_ms": _p(s.e2e[i]),
         "requests": s.requests[i], "prompt_tokens_per_s": s.prompt_tps[i],
         "generation_tokens_per_s": s.generation_tps[i], "prefix_cache_hit_rate": s.prefix_hit_rate[i],
         "preemptions": s.preemptions[i], "running": s.running[i], "waiting": s.waiting[i],
         "kv_cache_usage": s.kv_cache_usage[i]}
        for i in range(len(s.t))
    ]  # fmt: skip
    return {
        "start": window.start,
        "end": window.end,
        "step_seconds": int(step.total_seconds()),
        "gateway": gateway,
        "server": server,
    }
