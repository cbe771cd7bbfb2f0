"""The eval metrics a run reports: how each is computed from per-case results, and whether higher is better."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag import abstention
from rag.evaluation.metrics import mean_or_none


@dataclass(frozen=True)
class RunMetric:
    key: str
    label: str
    field: str  # the EvalResult field holding the per-case value
    higher_is_better: bool = True
    unit: str = ""
    applies: Callable[[Any], bool] = lambda result: True

    def values(self, results: Sequence[Any]) -> dict[int, float]:
        """Per-case values by case id, for the cases this metric applies to."""
        out = {}
        for r in results:
            value = getattr(r, self.field)
            if value is not None and self.applies(r):
                out[r.case_id] = float(value)
        return out


def _answerable_with_docs(r: Any) -> bool:
    return not r.case.unanswerable and bool(r.case.relevant_documents)


def _with_reference(r: Any) -> bool:
    return not r.case.unanswerable and bool(r.case.reference_answer)


METRICS: list[RunMetric] = [
    RunMetric("hit", "hit@k", "hit", applies=_answerable_with_docs),
    RunMetric("recall", "recall@k", "recall", applies=_answerable_with_docs),
    RunMetric("mrr", "MRR", "mrr", applies=_answerable_with_docs),
    RunMetric("ndcg", "nDCG@k", "ndcg", applies=_answerable_with_docs),
    RunMetric("exact_match", "exact match", "exact_match", applies=_with_reference),
    RunMetric("f1", "token F1", "f1", applies=_with_reference),
    RunMetric("faithfulness", "faithfulness", "faithfulness"),
    RunMetric("relevance", "answer relevance", "relevance"),
    RunMetric("abstention", "abstention accuracy", "abstention_correct", applies=lambda r: r.case.unanswerable),
    RunMetric("total_ms", "latency per case", "total_ms", higher_is_better=False, unit="ms"),
    RunMetric("completion_tokens", "completion tokens", "completion_tokens", higher_is_better=False),
]
METRICS_BY_KEY = {m.key: m for m in METRICS}
QUALITY_KEYS = [m.key for m in METRICS if m.higher_is_better]


def aggregate(results: Sequence[Any]) -> dict[str, Any]:
    """The run's summary: each metric's mean over the cases it applies to, and the counts behind them."""
    summary: dict[str, Any] = {}
    for metric in METRICS:
        values = metric.values(results)
        summary[metric.key] = mean_or_none(values.values())
        summary[f"{metric.key}_n"] = len(values)
    latencies = [r.total_ms for r in results if r.total_ms is not None]
    summary["total_ms_p95"] = float(np.percentile(latencies, 95)) if latencies else None
    summary["ttft_ms"] = mean_or_none(r.ttft_ms for r in results)
    summary["retrieval_ms"] = mean_or_none(r.retrieval_ms for r in results)
    summary["prompt_tokens"] = mean_or_none(r.prompt_tokens for r in results)
    summary["cases"] = len(results)
    summary["errors"] = sum(1 for r in results if r.error)
    summary["judged"] = sum(1 for r in results if r.judge_parsed is not None)
    summary["judge_unparsed"] = sum(1 for r in results if r.judge_parsed is False)
    summary["false_abstentions"] = sum(1 for r in results if r.abstained and not r.case.unanswerable)
    answerable, unanswerable = abstention_scores(results)
    summary["abstention_auroc"] = abstention.auroc(answerable, unanswerable)
    summary["confidence_signal"] = abstention.SIGNAL
    return summary


def abstention_scores(results: Sequence[Any]) -> tuple[list[float], list[float]]:
    """The answerability of each answerable and each unanswerable case, for the abstention curve."""
    scored = [r for r in results if r.confidence is not None and not r.error]
    return (
        [r.confidence for r in scored if not r.case.unanswerable],
        [r.confidence for r in scored if r.case.unanswerable],
    )
