"""Gate evidence from load tests and capacity plans, registered in the engagements metric registry.

Each provider reads the engagement's deployment (the one named in ``params``, or its only active one) and that
deployment's latest load test with results.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from deployments.gates import criterion_deployments
from deployments.loadtest.capacity import AtSla, capacity_at_sla, plan_for
from deployments.loadtest.selectors import latest_run_with_results, level_stats
from deployments.models import CapacityPlan, Deployment
from engagements.metrics import MetricResult, register

_DEPLOYMENT_HELP = '"deployment": "Claims model" (optional when the engagement has one active deployment)'


def _deployment(engagement: Any, params: dict[str, Any]) -> tuple[Deployment | None, str]:
    """The one deployment the criterion is about, or None and why not."""
    found = criterion_deployments(engagement, params)
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, "no active deployment of this engagement" + (
            f" is named {params['deployment']!r}" if params.get("deployment") else ""
        )
    return None, 'the engagement has several deployments: name one in params ({"deployment": "..."})'


def _url(deployment: Deployment) -> str:
    return reverse("deployments:loadtests", args=[deployment.uuid])


def _at_sla(engagement: Any, params: dict[str, Any]) -> tuple[AtSla | None, MetricResult | None]:
    """The capacity at the SLA of the deployment the criterion is about, or the "no value" result saying why not."""
    deployment, why = _deployment(engagement, params)
    if deployment is None:
        return None, MetricResult(value=None, detail=why)
    at_sla = capacity_at_sla(deployment=deployment)
    if at_sla is None:
        return None, MetricResult(value=None, detail="no load-test level held the SLA", source_url=_url(deployment))
    return at_sla, None


@register(
    "loadtest.p95_ttft_at_target_load",
    label="p95 time to first token at the target load (load test)",
    unit="s",
    description="From the deployment's latest load test: p95 time to first token at the lightest level that "
    "reached the target requests/s (the capacity plan's peak, or params' target_rps).",
    params_help='{"target_rps": 5, ' + _DEPLOYMENT_HELP + "}",
)
def p95_ttft_at_target_load(engagement: Any, params: dict[str, Any]) -> MetricResult:
    deployment, why = _deployment(engagement, params)
    if deployment is None:
        return MetricResult(value=None, detail=why)
    target = params.get("target_rps")
    if target is None:
        plan = CapacityPlan.objects.filter(engagement=engagement, deployment=deployment).first()
        target = float(plan.peak_rps) if plan else None
    if target is None:
        return MetricResult(
            value=None, detail="set target_rps in params or make a capacity plan", source_url=_url(deployment)
        )
    run = latest_run_with_results(deployment=deployment)
    levels = level_stats(run=run) if run else []
    reached = [s for s in levels if s.rps is not None and s.rps >= float(target) and s.pct.get("ttft_p95") is not None]
    if not reached:
        top = max((s.rps or 0.0 for s in levels), default=0.0)
        return MetricResult(
            value=None,
            detail=f"no load test reached {float(target):g} req/s (highest: {top:.2f})",
            source_url=_url(deployment),
        )
    level = min(reached, key=lambda s: s.rps or 0.0)
    return MetricResult(
        value=round((level.pct["ttft_p95"] or 0.0) / 1000, 3),
        detail=f"at {level.rps:.2f} req/s in {run}",
        source_url=_url(deployment),
    )


@register(
    "loadtest.goodput_at_sla",
    label="Goodput at the SLA (load test)",
    unit="req/s",
    description="Requests per second that met every SLA target, at the load-test level with the most goodput "
    "among those that held the SLA.",
    params_help="{" + _DEPLOYMENT_HELP + "}",
)
def goodput_at_sla(engagement: Any, params: dict[str, Any]) -> MetricResult:
    at_sla, missing = _at_sla(engagement, params)
    if at_sla is None:
        return missing or MetricResult(value=None)
    return MetricResult(
        value=round(at_sla.level.goodput_rps or 0.0, 3),
        detail=f"{at_sla.output_tps:,.0f} output tokens/s at load {at_sla.level.load or '?'} in {at_sla.run}",
        source_url=_url(at_sla.run.deployment),
    )


@register(
    "loadtest.cost_per_1m_at_sla",
    label="Cost per 1M output tokens at the SLA (load test)",
    unit="$",
    description="Hourly hardware cost ÷ (goodput output tokens/s × 3600) × 1e6, at the highest load that still "
    "held the SLA.",
    params_help="{" + _DEPLOYMENT_HELP + "}",
)
def cost_per_1m_at_sla(engagement: Any, params: dict[str, Any]) -> MetricResult:
    at_sla, missing = _at_sla(engagement, params)
    if at_sla is None:
        return missing or MetricResult(value=None)
    if at_sla.usd_per_1m_output is None:
        return MetricResult(
            value=None, detail="the deployment has no hardware price", source_url=_url(at_sla.run.deployment)
        )
    return MetricResult(
        value=round(at_sla.usd_per_1m_output, 4),
        detail=f"${at_sla.hourly:,.3f}/h at {at_sla.output_tps:,.0f} goodput output tokens/s",
        source_url=_url(at_sla.run.deployment),
    )


@register(
    "loadtest.plan_fits_budget",
    label="The capacity plan fits the budget",
    unit="",
    description="1 when the replicas the capacity plan needs at the SLA cost no more a month than its budget, "
    "0 otherwise.",
    params_help="{" + _DEPLOYMENT_HELP + "}",
)
def plan_fits_budget(engagement: Any, params: dict[str, Any]) -> MetricResult:
    deployment, why = _deployment(engagement, params)
    if deployment is None:
        return MetricResult(value=None, detail=why)
    capacity_plan = CapacityPlan.objects.filter(engagement=engagement, deployment=deployment).first()
    if capacity_plan is None:
        return MetricResult(value=None, detail="no capacity plan for this deployment", source_url=_url(deployment))
    plan, _ = plan_for(capacity_plan)
    if plan is None or plan.fits_budget is None:
        detail = "no load-test level held the SLA" if plan is None else "no budget or no hardware price"
        return MetricResult(value=None, detail=detail, source_url=_url(deployment))
    return MetricResult(
        value=1.0 if plan.fits_budget else 0.0,
        detail=f"{plan.replicas} replicas ({plan.devices} devices) at ${plan.monthly_usd:,.0f}/month "
        f"against ${plan.budget:,.0f}",
        source_url=_url(deployment),
    )
