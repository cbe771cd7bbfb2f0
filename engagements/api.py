"""REST endpoints for engagements: the portfolio, one engagement's gate and KPIs, and advancing a phase.

Provider staff see every engagement and client users their own client's (the same selectors as the pages);
anything else answers 404. Only the engagement's team may advance it, and only its leads may override.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from accounts.selectors import user_is_provider
from engagements.models import Engagement
from engagements.roi.inputs import roi_bundle
from engagements.roi.selectors import roi_client_summary, roi_compute
from engagements.selectors import engagement_portfolio_for_user, kpi_list
from engagements.services import GateBlocked, engagement_advance_phase

router = Router(tags=["Engagements"])


class EngagementOut(Schema):
    uuid: UUID
    name: str
    client: str
    phase: str
    health: str
    health_reason: str
    start_date: date | None
    target_date: date | None
    days_in_phase: int
    criteria_met: int
    criteria_total: int

    @staticmethod
    def resolve_client(obj: Engagement) -> str:
        return obj.client.name


class CriterionOut(Schema):
    label: str
    kind: str
    provider_key: str
    comparison: str
    threshold: float | None
    value: float | None
    passed: bool
    evaluated_at: datetime | None


class MeasurementOut(Schema):
    measured_on: date
    value: float
    source: str


class KpiOut(Schema):
    name: str
    tier: str
    unit: str
    direction: str
    baseline: float | None
    target: float | None
    measurements: list[MeasurementOut]


class RoiScenarioOut(Schema):
    name: str
    volume_per_month: float
    volume_unit: str
    adoption_start_pct: float
    adoption_target_pct: float
    ramp_months: int
    discount_rate_pct: float
    outlook: str


class RoiFiguresOut(Schema):
    total_investment: float
    total_benefit: float
    net: float
    roi_percent: float | None
    npv: float
    payback_months: float | None
    payback_month: date | None


class RoiLineOut(Schema):
    line: str
    amount: float


class RoiMonthOut(Schema):
    month: date
    forecast: bool
    adoption_pct: float
    investment: float
    benefit: float
    cumulative_investment: float
    cumulative_benefit: float


class RoiKpiOut(Schema):
    name: str
    unit: str
    direction: str
    baseline: float | None
    target: float | None
    actual: float | None
    actual_on: date | None
    trend: float | None
    progress_pct: float | None
    progress_bar: float | None
    benefit: float | None


class RoiTierOut(Schema):
    tier: str
    label: str
    kpis: list[RoiKpiOut]


class RoiOut(Schema):
    """The engagement's ROI under its primary scenario, as its client may see it: no rates, hours or rules."""

    currency: str
    scenario: RoiScenarioOut
    start_month: date
    go_live_month: date
    horizon_months: int
    figures: RoiFiguresOut
    investment_by_line: list[RoiLineOut]
    months: list[RoiMonthOut]
    tiers: list[RoiTierOut]


class AdvanceIn(Schema):
    expected_phase: str | None = None
    note: str = ""
    override_reason: str = ""


class TransitionOut(Schema):
    from_phase: str
    to_phase: str
    created_at: datetime
    override_reason: str


def _get(request: HttpRequest, uuid: UUID) -> Engagement:
    engagement = engagement_portfolio_for_user(user=request.user).filter(uuid=uuid).first()
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


@router.get("/", response=list[EngagementOut])
def list_engagements(request: HttpRequest, phase: str = "", health: str = "") -> Any:
    qs = engagement_portfolio_for_user(user=request.user, health=health)
    return qs.filter(phase=phase) if phase else qs


@router.get("/{uuid}", response=EngagementOut)
def get_engagement(request: HttpRequest, uuid: UUID) -> Any:
    return _get(request, uuid)


@router.get("/{uuid}/gate", response=list[CriterionOut])
def get_gate(request: HttpRequest, uuid: UUID) -> Any:
    """The current phase's criteria with their last verdicts (refreshed by the workers every few minutes)."""
    engagement = _get(request, uuid)
    return [
        {
            "label": c.label,
            "kind": c.kind,
            "provider_key": c.provider_key,
            "comparison": c.comparison if c.kind == "metric" else "",
            "threshold": c.threshold,
            "value": c.last_value,
            "passed": c.last_passed,
            "evaluated_at": c.last_evaluated_at,
        }
        for c in engagement.criteria.filter(phase=engagement.phase)
    ]


@router.get("/{uuid}/kpis", response=list[KpiOut])
def get_kpis(request: HttpRequest, uuid: UUID) -> Any:
    return [
        {
            **{f: getattr(k, f) for f in ("name", "tier", "unit", "direction", "baseline", "target")},
            "measurements": list(k.measurements.all()),
        }
        for k in kpi_list(engagement=_get(request, uuid))
    ]


@router.get("/{uuid}/roi", response=RoiOut)
def get_roi(request: HttpRequest, uuid: UUID) -> Any:
    """The ROI under the primary scenario: figures, monthly series and KPI tiers, without internal rates.

    Answers 404 until a scenario is saved. The same for provider staff and the client's users.
    """
    bundle = roi_bundle(engagement=_get(request, uuid))
    if bundle.primary is None:
        raise HttpError(404, "No ROI scenario has been saved for this engagement yet.")
    result = roi_compute(bundle=bundle, scenario=bundle.primary)
    return roi_client_summary(bundle=bundle, scenario=bundle.primary, result=result)


@router.post("/{uuid}/advance", response=TransitionOut)
def advance(request: HttpRequest, uuid: UUID, payload: AdvanceIn) -> Any:
    engagement = _get(request, uuid)
    if not user_is_provider(request.user):
        raise Http404("No such engagement.")
    try:
        return engagement_advance_phase(engagement=engagement, actor=request.user, **payload.dict())
    except GateBlocked as blocked:
        raise HttpError(409, blocked.messages[0]) from None
    except PermissionDenied as denied:
        raise HttpError(403, str(denied)) from None
    except ValidationError as invalid:
        raise HttpError(422, " ".join(invalid.messages)) from None
