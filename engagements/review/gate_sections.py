"""The review pack's sections from the engagement's own records: the gate's criteria and where each value came from,
the ROI and its scenarios, open risks and requirements, and the stakeholders' sign-offs."""

from __future__ import annotations

from typing import Any

from engagements.charts import roi_compare_chart, roi_cumulative_chart
from engagements.metrics import get_provider
from engagements.models import GateCriterion, Phase, Requirement, Risk, SignOff
from engagements.review.sections import PackContext, register_section
from engagements.roi.inputs import roi_bundle
from engagements.roi.selectors import roi_client_summary, roi_compute
from engagements.services.gates import gate_evaluate


def _source(status: Any) -> str:
    """Where a criterion's value came from, in words: the provider, or the person who ticked it."""
    criterion: GateCriterion = status.criterion
    if criterion.is_checklist:
        return "Checklist item ticked by a person"
    provider = get_provider(criterion.provider_key)
    return f"{provider.label} ({criterion.provider_key})" if provider else criterion.provider_key


@register_section(
    "criteria", title="Exit criteria and their evidence", template="engagements/review/_criteria.html", order=10
)
def criteria_section(ctx: PackContext) -> dict[str, Any]:
    # The pack is shared with the client: it holds only the criteria an FDE marked visible to the client.
    statuses = gate_evaluate(engagement=ctx.engagement, phase=ctx.phase)
    shown = [s for s in statuses if s.criterion.visible_to_client]
    rows = []
    for s in shown:
        c = s.criterion
        provider = None if c.is_checklist else get_provider(c.provider_key)
        rows.append(
            {
                "label": c.label,
                "kind": c.get_kind_display(),
                "checklist": c.is_checklist,
                "source": _source(s),
                "unit": provider.unit if provider else "",
                "value": s.value,
                "needs": "" if c.is_checklist else f"{c.get_comparison_display()} {c.threshold:g}",
                "passed": s.passed,
                "detail": s.detail,
                "error": s.error,
                "measured_at": (c.checked_at if c.is_checklist else ctx.now),
            }
        )
    return {
        "rows": rows,
        "met": sum(r["passed"] for r in rows),
        "total": len(rows),
        "internal": len(statuses) - len(shown),
    }


def _scenario_row(summary: dict[str, Any], *, primary: bool) -> dict[str, Any]:
    figures = summary["figures"]
    return {"name": summary["scenario"]["name"], "primary": primary, **summary["scenario"], **figures}


@register_section("roi", title="Return on investment", template="engagements/review/_roi.html", order=30)
def roi_section(ctx: PackContext) -> dict[str, Any] | None:
    """The primary scenario's figures and charts, and every saved scenario side by side (client-safe figures only)."""
    bundle = roi_bundle(engagement=ctx.engagement)
    if not bundle.is_set_up:
        return None
    primary = bundle.primary
    summaries = [
        (
            scenario,
            roi_client_summary(bundle=bundle, scenario=scenario, result=roi_compute(bundle=bundle, scenario=scenario)),
        )
        for scenario in bundle.scenarios
    ]
    main = next(summary for scenario, summary in summaries if scenario == primary)
    return {
        "currency": main["currency"],
        "figures": main["figures"],
        "scenario": main["scenario"],
        "investment_by_line": main["investment_by_line"],
        "tiers": main["tiers"],
        "scenarios": [_scenario_row(summary, primary=scenario == primary) for scenario, summary in summaries],
        "cumulative_chart": roi_cumulative_chart(main),
        "compare_chart": roi_compare_chart([(s.name, summary["months"]) for s, summary in summaries], main["currency"])
        if len(summaries) > 1
        else "",
    }


@register_section(
    "open_items", title="Open risks and requirements", template="engagements/review/_open_items.html", order=50
)
def open_items_section(ctx: PackContext) -> dict[str, Any]:
    risks = Risk.objects.filter(engagement=ctx.engagement, visible_to_client=True).exclude(status=Risk.Status.CLOSED)
    requirements = (
        Requirement.objects.filter(engagement=ctx.engagement, visible_to_client=True)
        .exclude(status__in=[Requirement.Status.DONE, Requirement.Status.DROPPED])
        .order_by("priority", "title")
    )
    return {
        "risks": sorted(
            (
                {
                    "title": r.title,
                    "score": r.score,
                    "likelihood": r.likelihood,
                    "impact": r.impact,
                    "owner": r.owner,
                    "mitigation": r.mitigation,
                    "status": r.get_status_display(),
                }
                for r in risks
            ),
            key=lambda r: -r["score"],
        ),
        "requirements": [
            {
                "title": q.title,
                "priority": q.get_priority_display(),
                "status": q.get_status_display(),
                "acceptance_criteria": q.acceptance_criteria,
            }
            for q in requirements
        ],
    }


@register_section("signoffs", title="Stakeholder sign-offs", template="engagements/review/_signoffs.html", order=90)
def signoffs_section(ctx: PackContext) -> dict[str, Any]:
    signed = {
        s.stakeholder_id: s
        for s in SignOff.objects.filter(engagement=ctx.engagement, phase=ctx.phase).select_related("recorded_by")
    }
    return {
        "phase": Phase(ctx.phase).label,
        "stakeholders": [
            {
                "name": s.name,
                "title": s.title,
                "role": s.get_role_display(),
                "signed_at": signed[s.pk].created_at if s.pk in signed else None,
            }
            for s in ctx.engagement.stakeholders.all()
        ],
    }
