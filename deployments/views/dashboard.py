"""The deployment's page: health, SLA state, alerts, the latency dashboard for a chosen range, cost and recent calls."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import provider_required
from deployments import charts
from deployments.costs import figures_from_series
from deployments.planner import plan_for_deployment
from deployments.selectors import deployment_user_can_edit, model_call_recent
from deployments.series import RANGES, TimeRange, gateway_series, parse_range, server_series
from deployments.sla import series_breaches, sla_targets
from deployments.views.endpoints import _get_deployment_for_user, webhook_is_set


def dashboard_context(deployment: Any, window: TimeRange) -> dict[str, Any]:
    step = window.step
    gateway = gateway_series(deployment=deployment, start=window.start, end=window.end, step=step)
    server = server_series(deployment=deployment, start=window.start, end=window.end, step=step)
    targets = sla_targets(deployment)
    breached = [bool(b) for b in series_breaches(gateway, targets)]
    x_range = (window.start, window.end)
    periods = charts.breach_periods(gateway.t, breached, step)
    figures = figures_from_series(
        deployment=deployment, start=window.start, end=window.end, step=step, gateway=gateway, server=server
    )
    has_data = bool(gateway.t or server.t)
    last_scrape = deployment.server_samples.order_by("-scraped_at").only("scraped_at", "ok", "error").first()
    return {
        "last_scrape": last_scrape,
        "window": window,
        "ranges": [(k, label) for k, (label, _) in RANGES.items()],
        "step_minutes": int(step.total_seconds() // 60),
        "figures": figures,
        "breach_count": len(periods),
        "has_server_data": bool(server.t),
        "latency_chart": charts.latency_chart(
            gateway=gateway, server=server, targets=targets, periods=periods, x_range=x_range
        )
        if has_data
        else None,
        "throughput_chart": charts.throughput_chart(
            gateway=gateway, server=server, step=step, periods=periods, x_range=x_range
        )
        if has_data
        else None,
        "server_chart": charts.server_state_chart(server=server, x_range=x_range) if server.t else None,
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
