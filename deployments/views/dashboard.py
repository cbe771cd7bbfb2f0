"""The deployment's page: health, SLA state, alerts, the latency dashboard for a chosen range, cost and recent calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.decorators import provider_required
from deployments import charts
from deployments.costs import fleet_figures
from deployments.planner import plan_for_deployment
from deployments.selectors import deployment_user_can_edit, model_call_recent
from deployments.series import bucket_for, gateway_series, server_series
from deployments.sla import judge, sla_targets
from deployments.views.endpoints import _get_deployment_for_user, webhook_is_set

RANGES = {"1h": ("Last hour", timedelta(hours=1)), "24h": ("Last day", timedelta(days=1)),
          "7d": ("Last week", timedelta(days=7))}  # fmt: skip
MAX_CUSTOM = timedelta(days=92)


@dataclass
class TimeRange:
    key: str
    start: datetime
    end: datetime
    error: str = ""

    @property
    def step(self) -> timedelta:
        return bucket_for(self.start, self.end)


def parse_range(params: Any, now: datetime | None = None) -> TimeRange:
    """The dashboard's range from ``?range=1h|24h|7d`` or ``?range=custom&start=...&end=...`` (ISO times)."""
    now = now or timezone.now()
    key = params.get("range", "24h")
    if key == "custom":
        start, end = _parse(params.get("start")), _parse(params.get("end")) or now
        if start is None:
            return TimeRange("24h", now - RANGES["24h"][1], now, "Give a start time for a custom range.")
        if end <= start:
            return TimeRange("24h", now - RANGES["24h"][1], now, "The end of the range must come after its start.")
        if end - start > MAX_CUSTOM:
            return TimeRange("24h", now - RANGES["24h"][1], now, "A custom range can cover at most 92 days.")
        return TimeRange("custom", start, min(end, now))
    _label, span = RANGES.get(key, RANGES["24h"])
    return TimeRange(key if key in RANGES else "24h", now - span, now)


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def dashboard_context(deployment: Any, window: TimeRange) -> dict[str, Any]:
    step = window.step
    gateway = gateway_series(deployment=deployment, start=window.start, end=window.end, step=step)
    server = server_series(deployment=deployment, start=window.start, end=window.end, step=step)
    targets = sla_targets(deployment)
    breached = [
        bool(
            calls
            and judge(
                {
                    "ttft_p95_ms": ttft[1],
                    "itl_p95_ms": itl[1],
                    "e2e_p95_ms": e2e[1],
                    "tokens_per_s": 1000 / itl[1] if itl[1] else None,
                    "error_rate": 100 * errors / calls,
                },
                targets,
            )
        )
        for calls, errors, ttft, itl, e2e in zip(
            gateway.calls, gateway.errors, gateway.ttft, gateway.itl, gateway.e2e, strict=True
        )
    ]
    periods = charts.breach_periods(gateway.t, breached, step)
    figures = fleet_figures(deployments=[deployment], start=window.start, end=window.end)[deployment.pk]
    has_data = bool(gateway.t or server.t)
    return {
        "window": window,
        "ranges": [(k, label) for k, (label, _) in RANGES.items()],
        "step_minutes": int(step.total_seconds() // 60),
        "figures": figures,
        "breach_count": len(periods),
        "has_server_data": bool(server.t),
        "latency_chart": charts.latency_chart(gateway=gateway, server=server, targets=targets, periods=periods)
        if has_data
        else None,
        "throughput_chart": charts.throughput_chart(gateway=gateway, server=server, step=step, periods=periods)
        if has_data
        else None,
        "server_chart": charts.server_state_chart(server=server) if server.t else None,
    }


@provider_required
def deployment_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid)
    window = parse_range(request.GET)
    context = {"deployment": deployment, **dashboard_context(deployment, window)}
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "dashboard":
        return render(request, "deployments/_dashboard.html", context)
    context.update(
        {
            "can_edit": deployment_user_can_edit(deployment=deployment, user=request.user),
            "open_alert": deployment.alerts.filter(closed_at__isnull=True).first(),
            "recent_alerts": list(deployment.alerts.all()[:5]),
            "calls": model_call_recent(deployment=deployment, limit=20),
            "plan": plan_for_deployment(deployment),
            "webhook_set": webhook_is_set(deployment),
        }
    )
    return render(request, "deployments/detail.html", context)
