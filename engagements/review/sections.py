"""The registry of gate review pack sections. Any app contributes a section when Django starts (``AppConfig.ready``)::

    from engagements.review.sections import PackContext, register_section

    @register_section("load", title="Load tests against the SLA", template="deployments/review/_load.html", order=45)
    def load_section(ctx: PackContext) -> dict | None:
        runs = ...  # the engagement's load benchmarks
        if not runs:
            return None  # nothing to show: the pack leaves the section out
        return {"runs": [...], "chart": figure_json}

A section's function takes the engagement and the gate (``ctx.phase``) and returns a JSON-serialisable dict, the
section's context as kept in the pack's frozen ``content``; its template renders that dict as ``data``. Charts are
Plotly figure JSON strings that the template puts in ``<div class="pack-chart" data-figure="...">``. Everything a
section returns is shown to the client's stakeholders: build it from client-safe selectors only (for the ROI,
``roi_client_summary``), never from rates, hours or internal notes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engagements.models import Engagement


@dataclass(frozen=True)
class PackContext:
    engagement: Engagement
    phase: str
    now: dt.datetime


SectionFn = Callable[[PackContext], dict[str, Any] | None]


@dataclass(frozen=True)
class PackSection:
    key: str
    title: str
    template: str
    order: int
    fn: SectionFn


_REGISTRY: dict[str, PackSection] = {}


def register_section(key: str, *, title: str, template: str, order: int) -> Callable[[SectionFn], SectionFn]:
    def decorator(fn: SectionFn) -> SectionFn:
        _REGISTRY[key] = PackSection(key=key, title=title, template=template, order=order, fn=fn)
        return fn

    return decorator


def all_sections() -> list[PackSection]:
    return sorted(_REGISTRY.values(), key=lambda s: (s.order, s.key))


def get_section(key: str) -> PackSection | None:
    return _REGISTRY.get(key)
