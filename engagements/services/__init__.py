"""Every write to an engagement and its records; see each module for the details.

``activity_record`` (engagements/services/activity.py) is the entry point other apps call to add a line to an
engagement's activity feed.
"""

from engagements.services.activity import activity_record
from engagements.services.engagement import (
    GateBlocked,
    engagement_advance_phase,
    engagement_archive,
    engagement_assign,
    engagement_create,
    engagement_refresh_evidence,
    engagement_return_to_phase,
    engagement_unassign,
    engagement_update,
)
from engagements.services.gates import (
    CriterionStatus,
    criterion_check,
    criterion_create,
    criterion_delete,
    criterion_update,
    gate_evaluate,
)
from engagements.services.kpis import (
    kpi_create,
    kpi_measure_from_provider,
    kpi_measurement_record,
    kpi_measurements_import_csv,
    time_entry_create,
)
from engagements.services.records import (
    decision_create,
    record_delete,
    record_set_client_visibility,
    requirement_create,
    requirement_set_status,
    risk_create,
    risk_set_status,
    signoff_record,
    stakeholder_create,
)

__all__ = [
    "CriterionStatus",
    "GateBlocked",
    "activity_record",
    "criterion_check",
    "criterion_create",
    "criterion_delete",
    "criterion_update",
    "decision_create",
    "engagement_advance_phase",
    "engagement_archive",
    "engagement_assign",
    "engagement_create",
    "engagement_refresh_evidence",
    "engagement_return_to_phase",
    "engagement_unassign",
    "engagement_update",
    "gate_evaluate",
    "kpi_create",
    "kpi_measure_from_provider",
    "kpi_measurement_record",
    "kpi_measurements_import_csv",
    "record_delete",
    "record_set_client_visibility",
    "requirement_create",
    "requirement_set_status",
    "risk_create",
    "risk_set_status",
    "signoff_record",
    "stakeholder_create",
    "time_entry_create",
]
