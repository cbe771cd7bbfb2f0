from __future__ import annotations

from django.contrib import admin

from engagements.models import (
    Activity,
    Assignment,
    CostItem,
    Decision,
    Engagement,
    GateCriterion,
    GateReview,
    HourlyRate,
    Kpi,
    KpiMeasurement,
    PhaseTransition,
    Requirement,
    ReviewPack,
    Risk,
    RoiAssumptions,
    RoiScenario,
    SignOff,
    Stakeholder,
    TimeEntry,
    ValuationRule,
)


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0


class CriterionInline(admin.TabularInline):
    model = GateCriterion
    extra = 0
    fields = ["phase", "kind", "label", "provider_key", "params", "comparison", "threshold", "checked_at"]
    readonly_fields = ["checked_at"]


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ["name", "client", "phase", "health", "target_date", "archived_at"]
    list_filter = ["client", "phase", "health"]
    search_fields = ["name", "client__name"]
    inlines = [AssignmentInline, CriterionInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["engagement", "user", "role"]
    list_filter = ["role"]


@admin.register(PhaseTransition)
class PhaseTransitionAdmin(admin.ModelAdmin):
    """Transitions are the audit trail of the gates: readable here, never edited."""

    list_display = ["engagement", "from_phase", "to_phase", "actor", "created_at", "is_backward"]
    list_filter = ["to_phase", "is_backward"]

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["engagement", "actor", "verb", "target", "created_at"]
    search_fields = ["verb", "target"]


for model, columns, client_path in [
    (GateCriterion, ["label", "engagement", "phase", "kind", "provider_key", "comparison", "threshold"], "phase"),
    (SignOff, ["stakeholder", "engagement", "phase", "recorded_by", "created_at"], "engagement__client"),
    (Stakeholder, ["name", "engagement", "role", "influence", "interest"], "engagement__client"),
    (Requirement, ["title", "engagement", "priority", "status"], "engagement__client"),
    (Risk, ["title", "engagement", "likelihood", "impact", "status"], "engagement__client"),
    (Decision, ["title", "engagement", "decided_on"], "engagement__client"),
    (Kpi, ["name", "engagement", "tier", "baseline", "target"], "engagement__client"),
    (KpiMeasurement, ["kpi", "measured_on", "value", "source"], "kpi__engagement__client"),
    (TimeEntry, ["engagement", "user", "date", "hours", "phase"], "engagement__client"),
    (HourlyRate, ["engagement", "user", "role", "hourly_rate", "effective_from"], "engagement__client"),
    (CostItem, ["name", "engagement", "category", "amount", "starts_on", "ends_on"], "engagement__client"),
    (ValuationRule, ["kpi", "engagement", "kind", "unit_value", "factor", "per_volume"], "engagement__client"),
    (RoiAssumptions, ["engagement", "start_month", "go_live_month", "horizon_months"], "engagement__client"),
    (RoiScenario, ["name", "engagement", "volume_per_month", "is_primary"], "engagement__client"),
]:
    admin.site.register(model, list_display=columns, list_filter=[client_path])


@admin.register(ReviewPack)
class ReviewPackAdmin(admin.ModelAdmin):
    list_display = ["engagement", "phase", "version", "status", "queued_at"]
    list_filter = ["status"]
    raw_id_fields = ["engagement", "started_by"]


@admin.register(GateReview)
class GateReviewAdmin(admin.ModelAdmin):
    list_display = ["pack", "stakeholder", "decision", "created_at"]
    raw_id_fields = ["pack", "stakeholder", "user"]
