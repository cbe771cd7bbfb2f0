"""The gate review pack's eval scorecard: each dataset's latest finished run, every metric with a 95% interval."""

from __future__ import annotations

from typing import Any

from plotly.io.json import to_json_plotly

from engagements.review.sections import PackContext, register_section
from rag.evaluation.metrics import bootstrap_mean
from rag.models import EvalRun
from rag.prototypes.scoring import METRICS

MAX_RUNS = 4  # the latest run of at most this many datasets: a pack is read, not searched


def _latest_runs(engagement: Any) -> list[EvalRun]:
    runs = (
        EvalRun.objects.filter(status=EvalRun.Status.SUCCEEDED, dataset__knowledge_base__engagement=engagement)
        .select_related("dataset", "version__prototype")
        .order_by("dataset_id", "-finished_at")
        .distinct("dataset_id")
    )
    return sorted(runs, key=lambda r: r.finished_at or r.queued_at, reverse=True)[:MAX_RUNS]


def _scorecard(run: EvalRun) -> list[dict[str, Any]]:
    results = list(run.results.select_related("case"))
    rows = []
    for metric in METRICS:
        interval = bootstrap_mean(list(metric.values(results).values()))
        if interval is None:
            continue
        rows.append(
            {
                "key": metric.key,
                "label": metric.label,
                "unit": metric.unit,
                "higher_is_better": metric.higher_is_better,
                "mean": interval.mean,
                "low": interval.low,
                "high": interval.high,
                "n": interval.n,
            }
        )
    return rows


def scorecard_chart(rows: list[dict[str, Any]]) -> str:
    """The 0-1 quality metrics as points with their 95% intervals as error bars."""
    scores = [r for r in rows if r["higher_is_better"] and not r["unit"]]
    if not scores:
        return ""
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": [r["mean"] for r in scores],
        "y": [r["label"] for r in scores],
        "marker": {"size": 9, "color": "#2f6fed"},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": [r["high"] - r["mean"] for r in scores],
            "arrayminus": [r["mean"] - r["low"] for r in scores],
            "color": "#2f6fed",
            "thickness": 1.5,
        },
        "hovertemplate": "%{y}: %{x:.3f}<extra></extra>",
    }
    layout = {
        "height": 60 + 28 * len(scores),
        "margin": {"l": 140, "r": 20, "t": 10, "b": 30},
        "xaxis": {"range": [0, 1.02], "gridcolor": "#eef1f6", "title": {"text": "score (95% interval)"}},
        "yaxis": {"autorange": "reversed"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"size": 11},
        "showlegend": False,
    }
    return str(to_json_plotly({"data": [trace], "layout": layout}))


@register_section("evals", title="Evaluation scorecard", template="rag/review/_evals.html", order=20)
def evals_section(ctx: PackContext) -> dict[str, Any]:
    runs = []
    for run in _latest_runs(ctx.engagement):
        rows = _scorecard(run)
        runs.append(
            {
                "prototype": str(run.version),
                "dataset": run.dataset.name,
                "cases": run.metrics.get("cases", 0),
                "errors": run.metrics.get("errors", 0),
                "judge_unparsed": run.metrics.get("judge_unparsed", 0),
                "finished_at": run.finished_at,
                "rows": rows,
                "chart": scorecard_chart(rows),
            }
        )
    return {"runs": runs}
