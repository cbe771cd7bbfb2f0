"""Plotly figures for the deployment dashboard, as JSON the page's bundled plotly.js draws (``data-figure``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deployments.series import GatewaySeries, ServerSeries

PERCENTILE_STYLE = (("p50", "#2f6fed", "solid"), ("p95", "#f0ad4e", "solid"), ("p99", "#dc3545", "dot"))
METRICS = (("ttft", "Time to first token"), ("itl", "Inter-token latency"), ("e2e", "End to end"))
BREACH_FILL = "rgba(220, 53, 69, 0.10)"


def _layout(figure: go.Figure, height: int, x_range: tuple[datetime, datetime] | None = None) -> str:
    figure.update_layout(
        height=height,
        margin={"l": 55, "r": 15, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.12},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        hovermode="x unified",
        font={"size": 11},
    )
    figure.update_xaxes(gridcolor="#eef1f6", range=list(x_range) if x_range else None)
    figure.update_yaxes(gridcolor="#eef1f6", rangemode="tozero")
    return str(figure.to_json())


def breach_periods(
    times: Sequence[datetime], breached: Sequence[bool], step: timedelta
) -> list[tuple[datetime, datetime]]:
    """Runs of consecutive breached buckets as (start, end) periods."""
    periods: list[tuple[datetime, datetime]] = []
    for t, bad in zip(times, breached, strict=True):
        if not bad:
            continue
        if periods and periods[-1][1] >= t:
            periods[-1] = (periods[-1][0], t + step)
        else:
            periods.append((t, t + step))
    return periods


def latency_chart(
    *,
    gateway: GatewaySeries,
    server: ServerSeries,
    targets: dict[str, float],
    periods: list[tuple[datetime, datetime]],
    x_range: tuple[datetime, datetime],
) -> str:
    """p50/p95/p99 of each latency, the gateway's log on the left and the server's histograms on the right."""
    figure = make_subplots(
        rows=3,
        cols=2,
        shared_xaxes=True,
        horizontal_spacing=0.06,
        vertical_spacing=0.07,
        column_titles=["Gateway log (as callers saw it)", "vLLM histograms (inside the server)"],
    )
    for row, (key, title) in enumerate(METRICS, start=1):
        for col, series in ((1, gateway), (2, server)):
            values = getattr(series, key)
            for index, (label, colour, dash) in enumerate(PERCENTILE_STYLE):
                figure.add_scatter(
                    x=series.t,
                    y=[v[index] for v in values],
                    name=label,
                    legendgroup=label,
                    showlegend=row == 1 and col == 1,
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": colour, "dash": dash, "width": 1.6},
                    connectgaps=False,
                    hovertemplate=f"{title} {label}: %{{y:,.0f}} ms<extra></extra>",
                    row=row,
                    col=col,
                )
            target = targets.get(f"{key}_p95_ms")
            if target is not None:
                figure.add_hline(
                    y=target,
                    line_dash="dash",
                    line_color="#dc3545",
                    annotation_text=f"SLA p95 {target:,.0f} ms",
                    annotation_font_size=10,
                    row=row,
                    col=col,
                )
        figure.update_yaxes(title_text=f"{title} (ms)", row=row, col=1)
    _shade(figure, periods)
    return _layout(figure, 620, x_range)


def _shade(figure: go.Figure, periods: list[tuple[datetime, datetime]], **where: Any) -> None:
    for start, end in periods:
        figure.add_vrect(x0=start, x1=end, fillcolor=BREACH_FILL, line_width=0, layer="below", **where)


def throughput_chart(
    *,
    gateway: GatewaySeries,
    server: ServerSeries,
    step: timedelta,
    periods: list[tuple[datetime, datetime]],
    x_range: tuple[datetime, datetime],
) -> str:
    """Requests and output tokens per second (gateway and server) with the error rate on its own axis."""
    seconds = step.total_seconds()
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(
        x=gateway.t,
        y=[c / seconds * 60 for c in gateway.calls],
        name="calls per minute (gateway)",
        marker_color="#b6c8f5",
        hovertemplate="%{y:,.2f} calls/min<extra></extra>",
    )
    figure.add_scatter(
        x=gateway.t,
        y=[t / seconds for t in gateway.completion_tokens],
        name="output tokens/s (gateway)",
        line={"color": "#2f6fed"},
        hovertemplate="%{y:,.1f} tokens/s<extra></extra>",
    )
    if server.t:
        figure.add_scatter(
            x=server.t,
            y=server.generation_tps,
            name="generation tokens/s (server)",
            line={"color": "#6f42c1", "dash": "dot"},
            hovertemplate="%{y:,.1f} tokens/s<extra></extra>",
        )
    figure.add_scatter(
        x=gateway.t,
        y=[100 * e / c if c else None for e, c in zip(gateway.errors, gateway.calls, strict=True)],
        name="error rate %",
        line={"color": "#dc3545"},
        mode="lines+markers",
        hovertemplate="%{y:.1f}% errors<extra></extra>",
        secondary_y=True,
    )
    figure.update_yaxes(title_text="per second / per minute", secondary_y=False)
    figure.update_yaxes(title_text="error rate (%)", range=[0, 100], secondary_y=True, showgrid=False)
    _shade(figure, periods)
    return _layout(figure, 300, x_range)


def server_state_chart(*, server: ServerSeries, x_range: tuple[datetime, datetime]) -> str:
    """Running and waiting requests, KV-cache use, prefix-cache hit rate and preemptions from the scrapes."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for values, name, colour in (
        (server.running, "running requests", "#2fbf71"),
        (server.waiting, "waiting requests", "#f0ad4e"),
        (server.preemptions, "preemptions", "#dc3545"),
    ):
        figure.add_scatter(x=server.t, y=values, name=name, line={"color": colour})
    figure.add_scatter(
        x=server.t,
        y=[None if v is None else 100 * v for v in server.kv_cache_usage],
        name="KV cache used %",
        line={"color": "#6f42c1", "dash": "dot"},
        secondary_y=True,
    )
    figure.add_scatter(
        x=server.t,
        y=[None if v is None else 100 * v for v in server.prefix_hit_rate],
        name="prefix-cache hit rate %",
        line={"color": "#0dcaf0", "dash": "dash"},
        secondary_y=True,
    )
    figure.update_yaxes(title_text="requests", secondary_y=False)
    figure.update_yaxes(title_text="%", range=[0, 100], secondary_y=True, showgrid=False)
    return _layout(figure, 280, x_range)
