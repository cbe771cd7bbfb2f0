"""The gate review pack's latency section: each of the engagement's deployments against its SLA over the last week."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from deployments.charts import sla_review_chart
from deployments.models import Deployment
from deployments.series import bucket_for, gateway_series
from deployments.sla import TARGETS, sla_targets, window_figures
from engagements.review.sections import PackContext, register_section

WINDOW = timedelta(days=7)


def _targets(figures: dict[str, Any], targets: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for target in TARGETS:
        if target.key not in targets:
            continue
        value, limit = figures.get(target.key), targets[target.key]
        met = None if value is None else (value >= limit if target.higher_is_better else value <= limit)
        rows.append({"label": target.label, "unit": target.unit, "value": value, "limit": limit, "met": met})
    return rows


@register_section("latency", title="Latency against the SLA", template="deployments/review/_latency.html", order=40)
def latency_section(ctx: PackContext) -> dict[str, Any]:
    start, end = ctx.now - WINDOW, ctx.now
    rows = []
    for deployment in Deployment.objects.filter(engagement=ctx.engagement, is_active=True).order_by("name"):
        targets = sla_targets(deployment)
        figures = window_figures(deployment=deployment, start=start, end=end)
        gateway = gateway_series(deployment=deployment, start=start, end=end, step=bucket_for(start, end))
        rows.append(
            {
                "name": deployment.name,
                "model": deployment.served_model_name,
                "calls": figures["calls"],
                "targets": _targets(figures, targets),
                "has_sla": bool(targets),
                "chart": sla_review_chart(gateway=gateway, targets=targets, x_range=(start, end))
                if figures["calls"]
                else "",
            }
        )
    return {"deployments": rows, "window_days": WINDOW.days, "start": start, "end": end}
