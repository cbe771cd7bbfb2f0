"""What each tab of the engagement page shows, built from the selectors."""

from __future__ import annotations

from typing import Any

from engagements import charts
from engagements.forms import (
    AdvanceForm,
    AssignForm,
    CriterionForm,
    CsvImportForm,
    DecisionForm,
    KpiForm,
    MeasurementForm,
    RequirementForm,
    ReturnForm,
    RiskForm,
    StakeholderForm,
    TimeEntryForm,
)
from engagements.metrics import all_providers
from engagements.models import Engagement, Phase
from engagements.selectors import (
    effort_summary,
    engagement_activity,
    engagement_timeline,
    kpi_list,
    risk_heatmap,
)
from engagements.services import gate_evaluate
from engagements.views.roi_context import roi_section_context

SECTIONS = [
    ("overview", "Overview", "bi-speedometer2"),
    ("stakeholders", "Stakeholders", "bi-people"),
    ("requirements", "Requirements", "bi-list-check"),
    ("risks", "Risks", "bi-exclamation-triangle"),
    ("decisions", "Decisions", "bi-journal-check"),
    ("kpis", "KPIs", "bi-graph-up"),
    ("effort", "Effort", "bi-stopwatch"),
    ("roi", "ROI", "bi-cash-coin"),
    ("activity", "Activity", "bi-activity"),
]
SECTION_KEYS = {key for key, _, _ in SECTIONS}


def gate_context(engagement: Engagement, phase: str | None = None, **forms: Any) -> dict[str, Any]:
    phase = phase if phase in Phase.values else engagement.phase
    statuses = gate_evaluate(engagement=engagement, phase=phase)
    next_phase = Phase.after(engagement.phase)
    earlier = Phase.values[: Phase.position_of(engagement.phase)]
    return {
        "gate_phase": phase,
        "gate_phase_label": Phase(phase).label,
        "gate_is_current": phase == engagement.phase,
        "statuses": statuses,
        "met": sum(s.passed for s in statuses),
        "failing": [s for s in statuses if not s.passed],
        "next_phase": next_phase,
        "next_phase_label": Phase(next_phase).label if next_phase else "",
        "earlier_phases": [(p, Phase(p).label) for p in earlier],
        "phases": Phase.choices,
        "providers": all_providers(),
        "advance_form": forms.get("advance_form") or AdvanceForm(initial={"expected_phase": engagement.phase}),
        "return_form": forms.get("return_form") or ReturnForm(initial={"expected_phase": engagement.phase}),
        "criterion_form": forms.get("criterion_form") or CriterionForm(initial={"phase": phase}),
        "advance_error": forms.get("advance_error", ""),
        "criterion_errors": forms.get("criterion_errors", {}),
    }


def _overview(engagement: Engagement, user: Any, forms: dict[str, Any]) -> dict[str, Any]:
    spans = engagement_timeline(engagement=engagement)
    return {
        **gate_context(engagement, forms.get("gate_phase"), **forms),
        "timeline": spans,
        "timeline_chart": charts.phase_timeline_html(spans),
        "team": engagement.assignments.select_related("user"),
        "assign_form": AssignForm(),
        "activities": engagement_activity(engagement=engagement, limit=8),
    }


def _kpis(engagement: Engagement, user: Any, forms: dict[str, Any]) -> dict[str, Any]:
    kpis = kpi_list(engagement=engagement)
    return {
        "kpis": [(kpi, charts.kpi_trend_html(kpi)) for kpi in kpis],
        "form": forms.get("form") or KpiForm(),
        "measurement_form": MeasurementForm(),
        "csv_form": CsvImportForm(),
        "kpi_errors": forms.get("kpi_errors", {}),
        "providers": all_providers(),
    }


def section_context(engagement: Engagement, section: str, user: Any, **forms: Any) -> dict[str, Any]:
    if section == "overview":
        return _overview(engagement, user, forms)
    if section == "kpis":
        return _kpis(engagement, user, forms)
    if section == "roi":
        return roi_section_context(engagement, forms)
    form = forms.get("form")
    if section == "stakeholders":
        stakeholders = engagement.stakeholders.prefetch_related("signoffs")
        signed = set(engagement.signoffs.filter(phase=engagement.phase).values_list("stakeholder_id", flat=True))
        return {"stakeholders": stakeholders, "signed_now": signed, "form": form or StakeholderForm()}
    if section == "requirements":
        return {"requirements": engagement.requirements.all(), "form": form or RequirementForm()}
    if section == "risks":
        return {
            "risks": engagement.risks.all(),
            "heatmap": risk_heatmap(engagement=engagement),
            "form": form or RiskForm(),
        }
    if section == "decisions":
        return {"decisions": engagement.decisions.all(), "form": form or DecisionForm()}
    if section == "effort":
        effort = effort_summary(engagement=engagement)
        return {
            "effort": effort,
            "effort_chart": charts.effort_weekly_html(effort["weekly"]),
            "form": form or TimeEntryForm(initial={"phase": engagement.phase}),
        }
    if section == "activity":
        return {"activities": engagement_activity(engagement=engagement, limit=200)}
    return {}
