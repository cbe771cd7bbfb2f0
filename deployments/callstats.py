"""What one model call measured, shared by the in-process gateway and the OpenAI-compatible proxy."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallStats:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    total_ms: float = 0.0
    gaps_ms: list[float] = field(default_factory=list)

    def gap_summary(self) -> dict[str, Any]:
        gaps = sorted(self.gaps_ms)
        if not gaps:
            return {"gap_count": 0}
        return {
            "gap_count": len(gaps),
            "gap_mean_ms": statistics.fmean(gaps),
            "gap_p50_ms": _percentile(gaps, 0.50),
            "gap_p95_ms": _percentile(gaps, 0.95),
            "gap_max_ms": gaps[-1],
        }


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]
