"""Gate evidence from the model gateway's call log, registered in the engagements metric registry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from deployments.costs import engagement_cost
from deployments.models import Deployment, ModelCall
from deployments.selectors import Percentile, deployment_health_report
from deployments.series import gateway_series
from deployments.sla import series_breaches, sla_targets
from engagements.metrics import MetricResult, register

_FLEET = "/deployments/"


@register(
    "deployments.p95_ttft",
    label="p95 time to first token of the engagement's model calls",
    unit="s",
    description="95th percentile of time to first token over the successful calls the gateway logged for this "
    "engagement (answers, evaluations) in the last days; a load benchmark at the target load can replace it.",
    params_help='{"days": 7, "caller": "rag.ask"} (both optional)',
)
def p95_ttft(engagement: Any, params: dict[str, Any]) -> MetricResult:
    days = int(params.get("days", 7))
    calls = ModelCall.objects.filter(
        engagement=engagement,
        status=ModelCall.Status.OK,
        ttft_ms__isnull=False,
        created_at__gte=timezone.now() - timedelta(days=days),
    )
    if params.get("caller"):
        calls = calls.filter(caller=params["caller"])
    stats = calls.aggregate(n=Count("id"), p95=Percentile("ttft_ms", 0.95))
    if not stats["n"]:
        return MetricResult(
            value=None,
            detail=f"no successful model calls logged in the last {days} days",
            source_url=reverse("deployments:list"),
        )
    return MetricResult(
        value=round(stats["p95"] / 1000, 3),
        detail=f"from {stats['n']} calls in the last {days} days",
        source_url=reverse("deployments:list"),
    )


def criterion_deployments(engagement: Any, params: dict[str, Any]) -> list[Deployment]:
    """The deployments a criterion is about: the one named in ``params`` or all of the engagement's active ones."""
    qs = Deployment.objects.filter(is_active=True).select_related("hardware")
    if params.get("deployment"):
        return list(qs.filter(name=params["deployment"], engagement=engagement))
    return list(qs.filter(engagement=engagement))


@register(
    "deployments.healthy",
    label="The engagement's deployments answer their health checks",
    unit="",
    description="1 when every active deployment of the engagement (or the one named) passed its last periodic "
    "health check, 0 otherwise.",
    params_help='{"deployment": "Claims model"} (optional)',
)
def deployments_healthy(engagement: Any, params: dict[str, Any]) -> MetricResult:
    deployments = criterion_deployments(engagement, params)
    if not deployments:
        return MetricResult(value=None, detail="no active deployment of this engagement", source_url=_FLEET)
    report = {r["uuid"]: r for r in deployment_health_report()}
    down = [d.name for d in deployments if not report.get(str(d.uuid), {}).get("ok")]
    detail = f"down or not checked: {', '.join(down)}" if down else f"{len(deployments)} answering"
    return MetricResult(value=0.0 if down else 1.0, detail=detail, source_url=_FLEET)


@register(
    "deployments.sla_met_hours",
    label="Share of the last hours in which the deployments met their SLA",
    unit="",
    description="Of the hours with traffic in the last N hours, the share in which every SLA target held (judged "
    "per hour from the gateway's log); 1.0 means the SLA held throughout.",
    params_help='{"hours": 24, "deployment": "Claims model"} (both optional)',
)
def sla_met_hours(engagement: Any, params: dict[str, Any]) -> MetricResult:
    hours = int(params.get("hours", 24))
    deployments = [d for d in criterion_deployments(engagement, params) if d.has_sla]
    if not deployments:
        return MetricResult(value=None, detail="no deployment of this engagement has an SLA", source_url=_FLEET)
    end = timezone.now()
    judged = met = 0
    worst = ""
    for d in deployments:
        # A gate decides a phase, so each hour is judged on its exact p95, not the dashboard's bucketed one.
        gateway = gateway_series(
            deployment=d, start=end - timedelta(hours=hours), end=end, step=timedelta(hours=1), exact=True
        )
        for breaches in series_breaches(gateway, sla_targets(d)):  # one entry per hour that had calls
            judged += 1
            met += not breaches
            worst = worst or (f"{d.name}: {breaches[0]}" if breaches else "")
    if not judged:
        return MetricResult(value=None, detail=f"no calls in the last {hours} hours", source_url=_FLEET)
    detail = f"{met} of {judged} hours with traffic met the SLA" + (f" (e.g. {worst})" if worst else "")
    return MetricResult(value=round(met / judged, 3), detail=detail, source_url=_FLEET)


@register(
    "deployments.cost_per_1m_tokens",
    label="Cost per 1M tokens of the engagement's model calls",
    unit="$",
    description="The engagement's input and output tokens priced at each deployment's measured $ per 1M input and "
    "output tokens (hardware price over the window, split by prompt and generation time), per 1M tokens in all.",
    params_help='{"days": 7} (optional)',
)
def cost_per_1m_tokens(engagement: Any, params: dict[str, Any]) -> MetricResult:
    days = int(params.get("days", 7))
    row = engagement_cost(engagement=engagement, start=timezone.now() - timedelta(days=days))
    if row is None or row.usd_per_1m_tokens is None:
        return MetricResult(value=None, detail=f"no priced model calls in the last {days} days", source_url=_FLEET)
    return MetricResult(
        value=round(row.usd_per_1m_tokens, 4),
        detail=f"${row.usd:,.2f} for {row.input_tokens + row.output_tokens:,.0f} tokens over {days} days",
        source_url=_FLEET,
    )
