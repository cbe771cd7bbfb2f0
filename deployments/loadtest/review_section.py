"""The gate review pack's load-test section: each deployment's latest load test against its SLA, with its curve."""

from __future__ import annotations

from typing import Any

from deployments.loadtest.charts import curve_chart
from deployments.loadtest.selectors import best_under_sla, knee, latest_run_with_results, level_stats
from deployments.models import Deployment
from engagements.review.sections import PackContext, register_section


@register_section(
    "load_tests", title="Load tests against the SLA", template="deployments/review/_load_tests.html", order=45
)
def load_tests_section(ctx: PackContext) -> dict[str, Any] | None:
    """Left out of the pack when none of the engagement's deployments has a load test with results."""
    rows = []
    for deployment in Deployment.objects.filter(engagement=ctx.engagement, is_active=True).order_by("name"):
        run = latest_run_with_results(deployment=deployment)
        if run is None:
            continue
        levels = level_stats(run=run)
        best, turn = best_under_sla(levels), knee(levels)
        rows.append(
            {
                "deployment": deployment.name,
                "run": run.name or f"Load test of {run.queued_at:%d %b %Y}",
                "when": run.finished_at or run.queued_at,
                "levels": len(levels),
                "best_load": best.load if best else None,
                "goodput_rps": best.goodput_rps if best else None,
                "goodput_output_tps": best.goodput_output_tps if best else None,
                "ttft_p95_ms": best.pct.get("ttft_p95") if best else None,
                "knee_load": turn.load if turn else None,
                "chart": curve_chart(levels=levels, knee=turn, best=best),
            }
        )
    return {"runs": rows} if rows else None
