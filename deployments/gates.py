"""Gate evidence from the model gateway's call log, registered in the engagements metric registry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from deployments.models import ModelCall
from deployments.selectors import Percentile
from engagements.metrics import MetricResult, register


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
