"""Plotly figures for the engagement pages, as figure JSON that static/js/prototypes.js draws with the locally served
plotly.js (``<div class="plotly-chart" data-figure="...">``): the site's CSP allows no inline script."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from engagements.models import Kpi
from engagements.roi.money import currency_symbol

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


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def date_axis(fig: go.Figure, dates: Sequence[dt.date | dt.datetime], *, min_days: int = 14) -> go.Figure:
    """A date x-axis at least ``min_days`` wide, centred on the data.

    Left to itself Plotly spans a single point (a KPI measured once, today) by a fraction of a millisecond and
    ticks it in milliseconds; a padded range keeps ticks on days and months whatever the data.
    """
    first, last = _as_date(min(dates)), _as_date(max(dates))
    spare = max(0, min_days - (last - first).days)
    start = first - dt.timedelta(days=spare // 2 + 1)
    end = last + dt.timedelta(days=spare - spare // 2 + 1)
    fig.update_xaxes(type="date", range=[start.isoformat(), end.isoformat()], tickformat="%-d %b\n%Y")
    return fig


def kpi_trend_html(kpi: Kpi) -> str:
    """A small line of the KPI's measurements with its baseline and target as dashed lines; "" when unmeasured."""
    fig = kpi_trend_figure(kpi)
    return _layout(fig, 200) if fig is not None else ""


def kpi_trend_figure(kpi: Kpi) -> go.Figure | None:
    points = list(kpi.measurements.all())
    if not points:
        return None
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
    return date_axis(fig, [p.measured_on for p in points])


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
    date_axis(fig, [row["week"] for row in weekly], min_days=35)
    return _layout(fig, 220, legend=True)


ROI_COLOURS = {"investment": "#d9534f", "benefit": "#2fbf71", "net": "#2f6fed"}
SCENARIO_COLOURS = ["#2f6fed", "#2fbf71", "#f0ad4e", "#6f42c1", "#0dcaf0", "#d9534f"]


def _figure_json(fig: go.Figure, height: int) -> str:
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 10, "t": 24, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "y": -0.22, "x": 0},
        font={"size": 11},
        hovermode="x unified",
    )
    return str(fig.to_json())


def _money_axis(fig: go.Figure, currency: str) -> None:
    symbol = currency_symbol(currency)
    prefix = symbol if len(symbol) == 1 else f"{symbol} "
    fig.update_yaxes(tickprefix=prefix, tickformat="~s", gridcolor="#eef1f6", zerolinecolor="#adb5bd")


def _marker(fig: go.Figure, month: Any, text: str, colour: str) -> None:
    """A labelled vertical line at a month (shapes and annotations, which date axes take as they are)."""
    x = str(month)
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line={"color": colour, "dash": "dot", "width": 1})
    fig.add_annotation(x=x, y=1, yref="paper", text=text, showarrow=False, yanchor="bottom", font={"color": colour})


def _split_line(fig: go.Figure, months: Sequence[dict[str, Any]], key: str, name: str, colour: str) -> None:
    """One series, solid over recorded months and dashed over the forecast, joined at the last recorded month."""
    recorded = [m for m in months if not m["forecast"]]
    forecast = recorded[-1:] + [m for m in months if m["forecast"]]
    hover = "%{y:,.0f}"
    for part, dash, label in ((recorded, "solid", name), (forecast, "dash", f"{name} (forecast)")):
        if len(part) < (1 if dash == "solid" else 2):
            continue
        fig.add_scatter(
            x=[str(m["month"]) for m in part],
            y=[m[key] for m in part],
            name=label,
            mode="lines+markers" if len(part) == 1 else "lines",
            line={"color": colour, "dash": dash, "width": 2.5},
            hovertemplate=f"{label}: {hover}<extra></extra>",
        )


def roi_cumulative_chart(summary: dict[str, Any]) -> str:
    """Cumulative investment against cumulative benefit, with go-live and payback marked.

    Built from ``roi_client_summary`` only, so the same chart can be shown to the client.
    """
    months = summary["months"]
    if not months:
        return ""
    fig = go.Figure()
    _split_line(fig, months, "cumulative_investment", "Investment", ROI_COLOURS["investment"])
    _split_line(fig, months, "cumulative_benefit", "Benefit", ROI_COLOURS["benefit"])
    _marker(fig, summary["go_live_month"], "Go-live", "#6c757d")
    if summary["figures"]["payback_month"]:
        _marker(fig, summary["figures"]["payback_month"], "Payback", ROI_COLOURS["benefit"])
    _money_axis(fig, summary["currency"])
    date_axis(fig, [m["month"] for m in months], min_days=62)
    fig.update_xaxes(tickformat="%b\n%Y", gridcolor="#eef1f6")
    return _figure_json(fig, 370)


def roi_compare_chart(series: Sequence[tuple[str, Sequence[dict[str, Any]]]], currency: str) -> str:
    """Cumulative net (benefit minus investment) of each scenario: where a line crosses zero it has paid back."""
    if not series:
        return ""
    fig = go.Figure()
    for index, (name, months) in enumerate(series):
        fig.add_scatter(
            x=[str(m["month"]) for m in months],
            y=[m["cumulative_benefit"] - m["cumulative_investment"] for m in months],
            name=name,
            mode="lines",
            line={"color": SCENARIO_COLOURS[index % len(SCENARIO_COLOURS)], "width": 2.5},
            hovertemplate=f"{name}: %{{y:,.0f}}<extra></extra>",
        )
    _money_axis(fig, currency)
    date_axis(fig, [m["month"] for _, months in series for m in months], min_days=62)
    fig.update_xaxes(tickformat="%b\n%Y", gridcolor="#eef1f6")
    return _figure_json(fig, 320)


def roi_portfolio_chart(rows: Sequence[dict[str, Any]]) -> str:
    """ROI % per engagement (its primary scenario), best first; a percentage compares across currencies."""
    scored = sorted(
        (r for r in rows if r["result"] is not None and r["result"].roi_percent is not None),
        key=lambda r: r["result"].roi_percent,
    )
    if not scored:
        return ""
    fig = go.Figure(
        go.Bar(
            x=[r["result"].roi_percent for r in scored],
            y=[r["engagement"].name for r in scored],
            orientation="h",
            marker_color=[PHASE_COLOURS[r["engagement"].phase] for r in scored],
            hovertemplate="%{y}: %{x:,.0f}% ROI<extra></extra>",
        )
    )
    fig.update_xaxes(ticksuffix="%", gridcolor="#eef1f6", zerolinecolor="#adb5bd")
    return _figure_json(fig, 80 + 34 * len(scored))
