"""Metric providers over the engagement's own records: sign-offs, stakeholders, requirements, risks, KPIs, effort."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, Sum
from django.urls import reverse

from engagements.metrics import MetricResult, register
from engagements.models import Engagement, GateCriterion, Kpi, Requirement, Risk, SignOff, Stakeholder, TimeEntry


def _section_url(engagement: Engagement, section: str) -> str:
    return reverse("engagements:section", kwargs={"uuid": engagement.uuid, "section": section})


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@register(
    "engagements.checklist_done",
    label="Checklist items ticked",
    unit="%",
    params_help='{"phase": "discover"} (default: the current phase)',
)
def checklist_done(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    items = GateCriterion.objects.filter(
        engagement=engagement, phase=params.get("phase", engagement.phase), kind=GateCriterion.Kind.CHECKLIST
    )
    total, done = items.count(), items.filter(checked_at__isnull=False).count()
    return MetricResult(_percent(done, total), f"{done} of {total} ticked", _section_url(engagement, "overview"))


@register(
    "engagements.stakeholder_count",
    label="Stakeholders identified",
    unit="people",
    params_help='{"role": "sponsor"} (optional)',
)
def stakeholder_count(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    qs = Stakeholder.objects.filter(engagement=engagement)
    if params.get("role"):
        qs = qs.filter(role=params["role"])
    count = qs.count()
    role = Stakeholder.Role(params["role"]).label.lower() if params.get("role") in Stakeholder.Role.values else ""
    return MetricResult(
        float(count), f"{count} {role} stakeholder(s)".replace("  ", " "), _section_url(engagement, "stakeholders")
    )


@register(
    "engagements.signoffs",
    label="Stakeholder sign-offs",
    unit="sign-offs",
    params_help='{"phase": "validate", "role": "sponsor"} (phase defaults to the current one; role optional)',
)
def signoffs(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    qs = SignOff.objects.filter(engagement=engagement, phase=params.get("phase", engagement.phase))
    if params.get("role"):
        qs = qs.filter(stakeholder__role=params["role"])
    names = list(qs.values_list("stakeholder__name", flat=True))
    detail = ("Signed off by " + ", ".join(names)) if names else "No sign-off recorded"
    return MetricResult(float(len(names)), detail, _section_url(engagement, "stakeholders"))


def _requirement_share(engagement: Engagement, params: dict[str, Any], condition: Q, what: str) -> MetricResult:
    """The percentage of (non-dropped, optionally one priority's) requirements meeting ``condition``."""
    qs = Requirement.objects.filter(engagement=engagement).exclude(status=Requirement.Status.DROPPED)
    if params.get("priority"):
        qs = qs.filter(priority=params["priority"])
    total, part = qs.count(), qs.filter(condition).count()
    detail = f"{part} of {total} {what}" if total else "No requirements recorded yet"
    return MetricResult(_percent(part, total), detail, _section_url(engagement, "requirements"))


@register(
    "engagements.requirements_coverage",
    label="Requirements with acceptance criteria",
    unit="%",
    params_help='{"priority": "must"} (optional)',
)
def requirements_coverage(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    return _requirement_share(engagement, params, ~Q(acceptance_criteria=""), "have acceptance criteria")


@register(
    "engagements.requirements_done",
    label="Requirements done",
    unit="%",
    params_help='{"priority": "must"} (optional)',
)
def requirements_done(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    return _requirement_share(engagement, params, Q(status=Requirement.Status.DONE), "done")


@register(
    "engagements.open_high_risks",
    label="Open high risks",
    unit="risks",
    params_help='{"min_score": 15} (likelihood × impact; default 15)',
)
def open_high_risks(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    min_score = int(params.get("min_score", 15))
    risks = Risk.objects.filter(engagement=engagement).exclude(status=Risk.Status.CLOSED)
    high = [r.title for r in risks.only("title", "likelihood", "impact") if r.score >= min_score]
    detail = ("Open: " + ", ".join(high)) if high else f"No open risk scores {min_score} or more"
    return MetricResult(float(len(high)), detail, _section_url(engagement, "risks"))


@register("engagements.kpis_baselined", label="KPIs with a baseline and a target", unit="%")
def kpis_baselined(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    qs = Kpi.objects.filter(engagement=engagement)
    total, ready = qs.count(), qs.filter(baseline__isnull=False, target__isnull=False).count()
    detail = f"{ready} of {total} KPIs" if total else "No KPIs defined yet"
    return MetricResult(_percent(ready, total), detail, _section_url(engagement, "kpis"))


@register(
    "engagements.kpi_latest",
    label="Latest KPI measurement",
    params_help='{"kpi": "Average handling time"} (the KPI\'s name)',
)
def kpi_latest(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    kpi = Kpi.objects.filter(engagement=engagement, name=params.get("kpi", "")).first()
    if kpi is None:
        raise ValueError(f"no KPI named “{params.get('kpi', '')}” on this engagement; set params.kpi to its name")
    latest = kpi.measurements.order_by("-measured_on").first()
    if latest is None:
        return MetricResult(None, f"{kpi.name} has no measurements yet", _section_url(engagement, "kpis"))
    return MetricResult(latest.value, f"{kpi.name} on {latest.measured_on:%d %b %Y}", _section_url(engagement, "kpis"))


@register(
    "engagements.effort_hours",
    label="Effort logged",
    unit="hours",
    params_help='{"phase": "prototype"} (optional)',
)
def effort_hours(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    q = Q(engagement=engagement) & (Q(phase=params["phase"]) if params.get("phase") else Q())
    total = TimeEntry.objects.filter(q).aggregate(total=Sum("hours"))["total"] or 0
    return MetricResult(float(total), f"{total} h logged", _section_url(engagement, "effort"))
