"""Calls in a deployment's gateway log with the latencies a test chooses, as the gateway would have logged them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from deployments.models import Deployment, ModelCall


def logged_calls(
    deployment: Deployment, *, at: datetime, ttft_ms: Sequence[float], total_ms: Sequence[float], status: str = "ok"
) -> None:
    """One call per (time to first token, end-to-end) pair, all at ``at``."""
    ModelCall.objects.bulk_create(
        ModelCall(deployment=deployment, engagement=deployment.engagement, caller="rag.ask", status=status,
                  ttft_ms=ttft, total_ms=total, gap_mean_ms=20, completion_tokens=20, created_at=at)
        for ttft, total in zip(ttft_ms, total_ms, strict=True)
    )  # fmt: skip
