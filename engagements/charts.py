"""Plotly figures for the engagement pages, as figure JSON that static/js/prototypes.js draws with the locally served
plotly.js (``<div class="plotly-chart" data-figure="...">``): the site's CSP allows no inline script."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from engagements.models import Kpi

PHASE_COLOURS = {
    "discover": "#6f42c1",
    "prototype": "#2f6fed",
    "validate": "#0dcaf0",
    "ship": "#2fbf71",
    "iterate": "#f0ad4e",
}


def _layout(fig: go.Figure, height: int, *, legend: bool = False) -> str:
    fig.update_layout(
        height=height,
        margin={"l": 40, "r": 10, "t": 10, "b": 30},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=legend,
        legend={"orientation": "h", "y": 1.15},
        font={"size": 11},
    )
    return str(fig.to_json())


def kpi_trend_html(kpi: Kpi) -> str:
    """A small line of the KPI's measurements with its baseline and target as dashed lines; "" when unmeasured."""
    points = list(kpi.measurements.all())
    if not points:
        return ""
    fig = go.Figure(
        go.Scatter(
            x=[p.measured_on for p in points],
            y=[p.value for p in points],
            mode="lines+markers",
            line={"color": "#2f6fed", "width": 2},
            hovertemplate="%{x|%d %b %Y}: %{y:,.4g} " + kpi.unit + "<extra></extra>",
        )
    )
    for value, colour, name in ((kpi.baseline, "#adb5bd", "baseline"), (kpi.target, "#2fbf71", "target")):
        if value is not None:
            fig.add_hline(y=value, line_dash="dash", line_color=colour, annotation_text=name, annotation_font_size=10)
    fig.update_yaxes(gridcolor="#eef1f6", title_text=kpi.unit or None)
    return _layout(fig, 200)


def phase_timeline_html(spans: Sequence[Any]) -> str:
    """One horizontal bar per stay in a phase, so loops back (Iterate → Prototype) are visible at a glance."""
    if len(spans) < 2:  # a single stay says nothing a chart would add
        return ""
    fig = go.Figure()
    for span in spans:
        end = span.ended_at or span.started_at.__class__.now(span.started_at.tzinfo)
        fig.add_trace(
            go.Bar(
                x=[(end - span.started_at).total_seconds() * 1000],
                base=[span.started_at],
                y=[span.label],
                orientation="h",
                marker_color=PHASE_COLOURS[span.phase],
                hovertemplate=f"{span.label}: {span.days} days<extra></extra>",
            )
        )
    fig.update_xaxes(type="date", gridcolor="#eef1f6")
    fig.update_yaxes(categoryorder="array", categoryarray=["Iterate", "Ship", "Validate", "Prototype", "Discover"])
    return _layout(fig, 190)


def effort_weekly_html(weekly: Sequence[dict[str, Any]]) -> str:
    """Hours per week, stacked by FDE: the cost side of the engagement's return."""
    if not weekly:
        return ""
    people: dict[str, tuple[list[Any], list[float]]] = {}
    for row in weekly:
        weeks, hours = people.setdefault(row["user__first_name"] or row["user__email"], ([], []))
        weeks.append(row["week"])
        hours.append(float(row["hours"]))
    fig = go.Figure(
        [
            go.Bar(x=weeks, y=hours, name=name, hovertemplate=name + ": %{y} h, week of %{x|%d %b}<extra></extra>")
            for name, (weeks, hours) in people.items()
        ]
    )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="hours", gridcolor="#eef1f6")
    return _layout(fig, 220, legend=True)
