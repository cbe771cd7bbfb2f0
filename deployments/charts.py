"""Plotly figures for a deployment's call log, rendered in the page by the bundled plotly.js."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from deployments.models import ModelCall


def latency_chart(calls: Sequence[ModelCall]) -> str:
    ordered = sorted(calls, key=lambda c: c.created_at)
    figure = go.Figure()
    figure.add_scatter(
        name="time to first token",
        mode="markers",
        x=[c.created_at.isoformat() for c in ordered],
        y=[c.ttft_ms for c in ordered],
    )
    figure.add_scatter(
        name="end to end",
        mode="markers",
        x=[c.created_at.isoformat() for c in ordered],
        y=[c.total_ms for c in ordered],
        text=[f"{c.caller} · {c.get_status_display()}" for c in ordered],
    )
    figure.update_layout(
        height=300,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        yaxis={"title": "ms", "type": "log"},
        legend={"orientation": "h", "y": -0.25},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    return figure.to_json()


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
