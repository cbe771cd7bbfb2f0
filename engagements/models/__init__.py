"""Engagement models, split by concern: the lifecycle (core), the records kept along it, and KPIs and effort."""

from engagements.models.core import Assignment, Engagement, GateCriterion, Phase, PhaseTransition
from engagements.models.kpis import Kpi, KpiMeasurement, TimeEntry
from engagements.models.records import Activity, Decision, Requirement, Risk, SignOff, Stakeholder

__all__ = [
    "Activity",
    "Assignment",
    "Decision",
    "Engagement",
    "GateCriterion",
    "Kpi",
    "KpiMeasurement",
    "Phase",
    "PhaseTransition",
    "Requirement",
    "Risk",
    "SignOff",
    "Stakeholder",
    "TimeEntry",
]
