"""Plotly figures for the deployment dashboard, as JSON the page's bundled plotly.js draws (``data-figure``).

The figures are written as plotly.js figure dictionaries and encoded with Plotly's own JSON encoder rather than built
as ``plotly.graph_objects``: validating a grid of eighteen traces through graph_objects cost more than every query of
the dashboard together, and plotly.js checks the figure when it draws it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.io.json import to_json_plotly

from deployments.series import GatewaySeries, ServerSeries

PERCENTILE_STYLE = (("p50", "#2f6fed", "solid"), ("p95", "#f0ad4e", "solid"), ("p99", "#dc3545", "dot"))
METRICS = (("ttft", "Time to first token"), ("itl", "Inter-token latency"), ("e2e", "End to end"))
BREACH_FILL = "rgba(220, 53, 69, 0.10)"
GRID = "#eef1f6"
Period = tuple[datetime, datetime]


def _encode(data: list[dict[str, Any]], layout: dict[str, Any], height: int, x_range: Period) -> str:
    layout = {
        "height": height,
        "margin": {"l": 55, "r": 15, "t": 30, "b": 40},
        "legend": {"orientation": "h", "y": -0.12},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "hovermode": "x unified",
        "font": {"size": 11},
        **layout,
    }
    for key in [k for k in layout if k.startswith("xaxis")]:
        layout[key] = {"gridcolor": GRID, "range": list(x_range), "type": "date", **layout[key]}
    for key in [k for k in layout if k.startswith("yaxis")]:
        layout[key] = {"gridcolor": GRID, "rangemode": "tozero", **layout[key]}
    return str(to_json_plotly({"data": data, "layout": layout}))


def breach_periods(times: Sequence[datetime], breached: Sequence[bool], step: timedelta) -> list[Period]:
    """Runs of consecutive breached buckets as (start, end) periods."""
    periods: list[Period] = []
    for t, bad in zip(times, breached, strict=True):
        if not bad:
            continue
        if periods and periods[-1][1] >= t:
            periods[-1] = (periods[-1][0], t + step)
        else:
            periods.append((t, t + step))
    return periods


def _shading(periods: list[Period], yref: str = "paper") -> list[dict[str, Any]]:
    return [
        {"type": "rect", "xref": "x", "yref": yref, "x0": start, "x1": end, "y0": 0, "y1": 1,
         "fillcolor": BREACH_FILL, "line": {"width": 0}, "layer": "below"}
        for start, end in periods
    ]  # fmt: skip


def latency_chart(
    *,
    gateway: GatewaySeries,
    server: ServerSeries,
    targets: dict[str, float],
    periods: list[Period],
    x_range: Period,
) -> str:
    """p50/p95/p99 of each latency, the gateway's log on the left and the server's histograms on the right."""
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "grid": {"rows": 3, "columns": 2, "pattern": "independent", "xgap": 0.06, "ygap": 0.07},
        "shapes": [],
        "annotations": [
            {
                "text": title,
                "showarrow": False,
                "xref": "paper",
                "yref": "paper",
                "x": x,
                "y": 1.04,
                "xanchor": "center",
                "font": {"size": 13},
            }
            for title, x in (("Gateway log (as callers saw it)", 0.235), ("vLLM histograms (inside the server)", 0.765))
        ],
    }
    for row, (key, title) in enumerate(METRICS):
        sources: tuple[GatewaySeries | ServerSeries, ...] = (gateway, server)
        for col, series in enumerate(sources):
            n = row * 2 + col + 1
            axis = "" if n == 1 else str(n)
            layout[f"xaxis{axis}"] = {"matches": "x"} if n > 1 else {}
            layout[f"yaxis{axis}"] = {"title": {"text": f"{title} (ms)"}} if col == 0 else {}
            values = getattr(series, key)
            for index, (label, colour, dash) in enumerate(PERCENTILE_STYLE):
                data.append(
                    {"type": "scatter", "mode": "lines+markers", "x": series.t, "y": [v[index] for v in values],
                     "name": label, "legendgroup": label, "showlegend": n == 1, "xaxis": f"x{axis}",
                     "yaxis": f"y{axis}", "marker": {"size": 4}, "connectgaps": False,
                     "line": {"color": colour, "dash": dash, "width": 1.6},
                     "hovertemplate": f"{title} {label}: %{{y:,.0f}} ms<extra></extra>"}
                )  # fmt: skip
            target = targets.get(f"{key}_p95_ms")
            if target is not None:
                layout["shapes"].append(
                    {"type": "line", "xref": f"x{axis} domain", "yref": f"y{axis}", "x0": 0, "x1": 1,
                     "y0": target, "y1": target, "line": {"color": "#dc3545", "dash": "dash", "width": 1.5}}
                )  # fmt: skip
                layout["annotations"].append(
                    {"text": f"SLA p95 {target:,.0f} ms", "showarrow": False, "xref": f"x{axis} domain",
                     "yref": f"y{axis}", "x": 1, "y": target, "xanchor": "right", "yanchor": "bottom",
                     "font": {"size": 10}}
                )  # fmt: skip
            layout["shapes"] += [
                {**shape, "xref": f"x{axis}", "yref": f"y{axis} domain"} for shape in _shading(periods)
            ]
    return _encode(data, layout, 620, x_range)


def throughput_chart(
    *,
    gateway: GatewaySeries,
    server: ServerSeries,
    step: timedelta,
    periods: list[Period],
    x_range: Period,
) -> str:
    """Requests and output tokens per second (gateway and server) with the error rate on its own axis."""
    seconds = step.total_seconds()
    data: list[dict[str, Any]] = [
        {"type": "bar", "x": gateway.t, "y": [c / seconds * 60 for c in gateway.calls],
         "name": "calls per minute (gateway)", "marker": {"color": "#b6c8f5"},
         "hovertemplate": "%{y:,.2f} calls/min<extra></extra>"},
        {"type": "scatter", "x": gateway.t, "y": [t / seconds for t in gateway.completion_tokens],
         "name": "output tokens/s (gateway)", "line": {"color": "#2f6fed"},
         "hovertemplate": "%{y:,.1f} tokens/s<extra></extra>"},
    ]  # fmt: skip
    if server.t:
        data.append(
            {"type": "scatter", "x": server.t, "y": server.generation_tps, "name": "generation tokens/s (server)",
             "line": {"color": "#6f42c1", "dash": "dot"}, "hovertemplate": "%{y:,.1f} tokens/s<extra></extra>"}
        )  # fmt: skip
    data.append(
        {"type": "scatter", "mode": "lines+markers", "x": gateway.t, "yaxis": "y2", "name": "error rate %",
         "y": [100 * e / c if c else None for e, c in zip(gateway.errors, gateway.calls, strict=True)],
         "line": {"color": "#dc3545"}, "hovertemplate": "%{y:.1f}% errors<extra></extra>"}
    )  # fmt: skip
    layout = {
        "xaxis": {},
        "yaxis": {"title": {"text": "per second / per minute"}},
        "yaxis2": {"title": {"text": "error rate (%)"}, "range": [0, 100], "overlaying": "y", "side": "right",
                   "showgrid": False},
        "shapes": _shading(periods),
    }  # fmt: skip
    return _encode(data, layout, 300, x_range)


def server_state_chart(*, server: ServerSeries, x_range: Period) -> str:
    """Running and waiting requests, KV-cache use, prefix-cache hit rate and preemptions from the scrapes."""
    data: list[dict[str, Any]] = [
        {"type": "scatter", "x": server.t, "y": values, "name": name, "line": {"color": colour}}
        for values, name, colour in (
            (server.running, "running requests", "#2fbf71"),
            (server.waiting, "waiting requests", "#f0ad4e"),
            (server.preemptions, "preemptions", "#dc3545"),
        )
    ]
    for values, name, colour, dash in (
        (server.kv_cache_usage, "KV cache used %", "#6f42c1", "dot"),
        (server.prefix_hit_rate, "prefix-cache hit rate %", "#0dcaf0", "dash"),
    ):
        data.append(
            {"type": "scatter", "x": server.t, "y": [None if v is None else 100 * v for v in values], "name": name,
             "yaxis": "y2", "line": {"color": colour, "dash": dash}}
        )  # fmt: skip
    layout = {
        "xaxis": {},
        "yaxis": {"title": {"text": "requests"}},
        "yaxis2": {"title": {"text": "%"}, "range": [0, 100], "overlaying": "y", "side": "right", "showgrid": False},
    }
    return _encode(data, layout, 280, x_range)


def prefix_share_chart(sources: Sequence[Any]) -> str:
    """Share of each source's calls that share their first K tokens with another call, against K."""
    figure = go.Figure()
    for source in sources:
        figure.add_scatter(
            name=source.name,
            mode="lines+markers",
            x=[level.k for level in source.levels],
            y=[round(level.share * 100, 1) for level in source.levels],
            text=[f"{level.sharing} of {level.reach} calls" for level in source.levels],
        )
    figure.update_layout(
        height=300,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        xaxis={"title": "first K tokens", "type": "log"},
        yaxis={"title": "% of calls sharing them", "range": [0, 105]},
        legend={"orientation": "h", "y": -0.3},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return figure.to_json()


def sla_review_chart(*, gateway: GatewaySeries, targets: dict[str, float], x_range: Period) -> str:
    """p95 time to first token and end to end per bucket against the SLA's lines: the review pack's latency view."""
    data: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    for (key, title), colour in zip((METRICS[0], METRICS[2]), ("#2f6fed", "#6f42c1"), strict=True):
        data.append(
            {"type": "scatter", "mode": "lines+markers", "x": gateway.t, "y": [v[1] for v in getattr(gateway, key)],
             "name": f"{title} p95", "marker": {"size": 4}, "line": {"color": colour, "width": 1.8},
             "connectgaps": False, "hovertemplate": f"{title} p95: %{{y:,.0f}} ms<extra></extra>"}
        )  # fmt: skip
        target = targets.get(f"{key}_p95_ms")
        if target is not None:
            shapes.append(
                {"type": "line", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1, "y0": target, "y1": target,
                 "line": {"color": colour, "dash": "dash", "width": 1.2}}
            )  # fmt: skip
    layout = {"shapes": shapes, "xaxis": {}, "yaxis": {"title": {"text": "ms (dashed: SLA)"}}}
    return _encode(data, layout, 280, x_range)
