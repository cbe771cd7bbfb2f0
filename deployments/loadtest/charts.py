"""Plotly figures for load tests, as figure JSON the pages' bundled plotly.js draws (``data-figure``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plotly.io.json import to_json_plotly

from deployments.loadtest.capacity import Plan
from deployments.loadtest.selectors import LevelStats

LAYOUT = {
    "margin": {"l": 60, "r": 15, "t": 30, "b": 45},
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"size": 11},
}


def _encode(data: list[dict[str, Any]], height: int = 340, **layout: Any) -> str:
    return str(to_json_plotly({"data": data, "layout": {**LAYOUT, "height": height, **layout}}))


def _curve(name: str, levels: Sequence[LevelStats], metric: str, **style: Any) -> dict[str, Any]:
    rows = [s for s in levels if s.rps is not None and s.pct.get(metric) is not None]
    return {
        "type": "scatter", "mode": "lines+markers", "name": name,
        "x": [round(s.output_tps or 0.0, 1) for s in rows], "y": [round(s.pct[metric] or 0.0, 1) for s in rows],
        "text": [f"load {s.load:g}" if s.load is not None else "" for s in rows], **style,
    }  # fmt: skip


def curve_chart(*, levels: Sequence[LevelStats], knee: LevelStats | None, best: LevelStats | None) -> str:
    """p95 latencies against output throughput, one point per level, with the knee and the best level under SLA."""
    data = [
        _curve("p95 time to first token", levels, "ttft_p95"),
        _curve("p95 end to end", levels, "e2e_p95", yaxis="y2", line={"dash": "dot"}),
    ]
    for point, label, colour in ((knee, "knee", "#f0ad4e"), (best, "most goodput under the SLA", "#198754")):
        if point is not None and point.pct.get("ttft_p95") is not None:
            data.append({
                "type": "scatter", "mode": "markers", "name": label, "x": [round(point.output_tps or 0.0, 1)],
                "y": [round(point.pct["ttft_p95"] or 0.0, 1)], "marker": {"size": 14, "symbol": "circle-open",
                "color": colour, "line": {"width": 3}},
            })  # fmt: skip
    return _encode(
        data,
        xaxis={"title": "output tokens/s", "rangemode": "tozero"},
        yaxis={"title": "p95 time to first token (ms)", "rangemode": "tozero"},
        yaxis2={"title": "p95 end to end (ms)", "overlaying": "y", "side": "right", "rangemode": "tozero"},
    )


def distribution_chart(*, ttft: Sequence[float], itl: Sequence[float]) -> str:
    data = [
        {"type": "histogram", "name": "time to first token", "x": list(ttft), "opacity": 0.7, "nbinsx": 40},
        {"type": "histogram", "name": "inter-token latency", "x": list(itl), "opacity": 0.7, "nbinsx": 40,
         "xaxis": "x2", "yaxis": "y2"},
    ]  # fmt: skip
    return _encode(
        data,
        height=300,
        grid={"rows": 1, "columns": 2, "pattern": "independent"},
        xaxis={"title": "time to first token (ms)"},
        xaxis2={"title": "mean inter-token gap per request (ms)"},
        yaxis={"title": "requests"},
    )


def compare_chart(runs: Sequence[tuple[str, Sequence[LevelStats]]]) -> str:
    return _encode(
        [_curve(name, levels, "ttft_p95") for name, levels in runs],
        xaxis={"title": "output tokens/s", "rangemode": "tozero"},
        yaxis={"title": "p95 time to first token (ms)", "rangemode": "tozero"},
    )


def crossover_chart(*, plan: Plan, api_per_request: float, api_name: str, crossover: float | None) -> str:
    """Monthly cost against monthly requests: the API's straight line, dedicated replicas' steps, the forecast."""
    forecast = plan.forecast.monthly_requests()
    top = max(forecast * 2, (crossover or 0) * 1.5, plan.replica_monthly_requests * 1.2)
    xs = [top * i / 200 for i in range(1, 201)]
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": f"API: {api_name}", "x": xs,
         "y": [round(x * api_per_request, 2) for x in xs]},
        {"type": "scatter", "mode": "lines", "name": "dedicated at the SLA", "x": xs,
         "y": [round(plan.dedicated_monthly_usd(x) or 0.0, 2) for x in xs], "line": {"shape": "hv"}},
    ]  # fmt: skip
    shapes = [{"type": "line", "x0": forecast, "x1": forecast, "yref": "paper", "y0": 0, "y1": 1,
               "line": {"dash": "dash", "color": "#6c757d"}}]  # fmt: skip
    annotations = [{"x": forecast, "yref": "paper", "y": 1, "text": "forecast", "showarrow": False}]
    if crossover is not None:
        annotations.append({"x": crossover, "y": crossover * api_per_request, "text": "crossover", "showarrow": True})
    return _encode(
        data,
        xaxis={"title": "requests per month", "rangemode": "tozero"},
        yaxis={"title": "$ per month", "rangemode": "tozero"},
        shapes=shapes,
        annotations=annotations,
    )
