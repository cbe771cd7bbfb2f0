"""Side-by-side eval runs: per-metric values and deltas with bootstrap intervals, per-case changes, and charts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from rag.evaluation.metrics import DeltaInterval, bootstrap_delta
from rag.models import EvalResult, EvalRun
from rag.prototypes.evals import eval_run_regressions
from rag.prototypes.scoring import METRICS, QUALITY_KEYS
from rag.prototypes.selectors import run_baseline

CHANGE_EPSILON = 1e-9


@dataclass
class MetricRow:
    key: str
    label: str
    higher_is_better: bool
    unit: str
    values: list[float | None]
    deltas: list[DeltaInterval | None]  # against the first run; None for the first run itself


def _results(run: EvalRun) -> list[EvalResult]:
    return list(run.results.select_related("case").order_by("case__external_id"))


def metric_rows(runs: list[EvalRun], results: dict[int, list[EvalResult]]) -> list[MetricRow]:
    rows = []
    for metric in METRICS:
        base_values = metric.values(results[runs[0].pk])
        values: list[float | None] = []
        deltas: list[DeltaInterval | None] = []
        for i, run in enumerate(runs):
            values.append(run.metrics.get(metric.key))
            if i == 0:
                deltas.append(None)
                continue
            other = metric.values(results[run.pk])
            shared = sorted(set(base_values) & set(other))
            if shared and len(shared) == len(base_values) == len(other):
                delta = bootstrap_delta([base_values[c] for c in shared], [other[c] for c in shared], paired=True)
            else:
                delta = bootstrap_delta(list(base_values.values()), list(other.values()), paired=False)
            deltas.append(delta)
        rows.append(MetricRow(metric.key, metric.label, metric.higher_is_better, metric.unit, values, deltas))
    return rows


def _case_score(result: EvalResult | None) -> float | None:
    """One number per case for "better or worse": answer F1 where there is a reference, else retrieval hit."""
    if result is None:
        return None
    if result.case.unanswerable:
        return 1.0 if result.abstained else 0.0
    for value in (result.f1, result.hit, result.faithfulness):
        if value is not None:
            return value
    return None


def case_changes(runs: list[EvalRun], results: dict[int, list[EvalResult]]) -> list[dict[str, Any]]:
    by_case = [{r.case_id: r for r in results[run.pk]} for run in runs]
    rows: list[dict[str, Any]] = []
    for case_id, first in by_case[0].items():
        cells = [by_run.get(case_id) for by_run in by_case]
        scores = [_case_score(c) for c in cells]
        last = next((s for s in reversed(scores) if s is not None), None)
        change = None if scores[0] is None or last is None else last - scores[0]
        verdict = "same" if change is None or abs(change) < CHANGE_EPSILON else "better" if change > 0 else "worse"
        rows.append({"case": first.case, "cells": cells, "scores": scores, "change": change, "verdict": verdict})
    order = {"worse": 0, "better": 1, "same": 2}
    rows.sort(key=lambda r: (order[r["verdict"]], -(abs(r["change"] or 0))))
    return rows


def chart_json(figure: go.Figure) -> str:
    figure.update_layout(
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        height=320,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "y": -0.2},
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return figure.to_json()


def quality_chart(runs: list[EvalRun], rows: list[MetricRow]) -> str:
    quality = [r for r in rows if r.key in QUALITY_KEYS]
    figure = go.Figure()
    for i, run in enumerate(runs):
        figure.add_bar(
            name=f"{run.version} · {run.queued_at:%d %b %H:%M}",
            x=[r.label for r in quality],
            y=[r.values[i] for r in quality],
        )
    figure.update_layout(barmode="group", yaxis={"range": [0, 1], "title": "score"})
    return chart_json(figure)


def delta_chart(runs: list[EvalRun], rows: list[MetricRow]) -> str:
    figure = go.Figure()
    quality = [r for r in rows if r.key in QUALITY_KEYS]
    for i, run in enumerate(runs[1:], start=1):
        shown = [(r.label, r.deltas[i]) for r in quality if r.deltas[i] is not None]
        figure.add_scatter(
            name=str(run.version),
            mode="markers",
            x=[d.delta for _, d in shown],  # type: ignore[union-attr]
            y=[label for label, _ in shown],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [d.high - d.delta for _, d in shown],  # type: ignore[union-attr]
                "arrayminus": [d.delta - d.low for _, d in shown],  # type: ignore[union-attr]
            },
        )
    figure.add_vline(x=0, line_dash="dot", line_color="#6c757d")
    figure.update_layout(xaxis={"title": f"change against {runs[0].version} (95% interval)"})
    return chart_json(figure)


def latency_chart(runs: list[EvalRun], results: dict[int, list[EvalResult]]) -> str:
    figure = go.Figure()
    for run in runs:
        figure.add_box(
            name=str(run.version), y=[r.total_ms for r in results[run.pk] if r.total_ms is not None], boxpoints="all"
        )
    figure.update_layout(yaxis={"title": "ms per case"}, showlegend=False)
    return chart_json(figure)


def compare_context(*, runs: list[EvalRun]) -> dict[str, Any]:
    runs = sorted(runs, key=lambda r: (not r.is_baseline, r.queued_at))
    results = {run.pk: _results(run) for run in runs}
    rows = [row for row in metric_rows(runs, results) if any(v is not None for v in row.values)]
    return {
        "runs": runs,
        "rows": rows,
        "cases": case_changes(runs, results),
        "quality_chart": quality_chart(runs, rows),
        "delta_chart": delta_chart(runs, rows),
        "latency_chart": latency_chart(runs, results),
        "same_dataset": len({r.dataset_id for r in runs}) == 1,
    }


def run_context(*, run: EvalRun) -> dict[str, Any]:
    baseline = run_baseline(dataset=run.dataset)
    results = _results(run)
    rows = [
        {
            "metric": m,
            "value": run.metrics.get(m.key),
            "n": run.metrics.get(f"{m.key}_n", 0),
            "reliable": run.metrics.get(f"{m.key}_reliable", True),
            "unreliable_reason": run.metrics.get(f"{m.key}_unreliable_reason", ""),
            "separation_auroc": run.metrics.get(f"{m.key}_separation_auroc"),
            "separation_gap": run.metrics.get(f"{m.key}_separation_gap"),
            "judged": f"{m.key}_reliable" in run.metrics,
        }
        for m in METRICS
    ]
    return {
        "run": run,
        "baseline": baseline,
        "regressions": eval_run_regressions(run=run, baseline=baseline),
        "rows": rows,
        "results": results,
        "others": run.dataset.runs.filter(status=EvalRun.Status.SUCCEEDED)
        .exclude(pk=run.pk)
        .select_related("version")[:10],
        "latency_chart": latency_chart([run], {run.pk: results}) if results else None,
    }
