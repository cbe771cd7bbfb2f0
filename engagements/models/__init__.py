"""Engagement models, split by concern: the lifecycle (core), the records kept along it, KPIs and effort, and ROI."""

from engagements.models.core import Assignment, Engagement, GateCriterion, Phase, PhaseTransition
from engagements.models.kpis import Kpi, KpiMeasurement, TimeEntry
from engagements.models.records import Activity, Decision, Requirement, Risk, SignOff, Stakeholder
from engagements.models.review import GateReview, ReviewPack
from engagements.models.roi import CostItem, HourlyRate, RoiAssumptions, RoiScenario, ValuationRule

__all__ = [
    "Activity",
    "Assignment",
    "CostItem",
    "Decision",
    "Engagement",
    "GateCriterion",
    "GateReview",
    "HourlyRate",
    "Kpi",
    "KpiMeasurement",
    "Phase",
    "PhaseTransition",
    "Requirement",
    "ReviewPack",
    "Risk",
    "RoiAssumptions",
    "RoiScenario",
    "SignOff",
    "Stakeholder",
    "TimeEntry",
    "ValuationRule",
]
