from __future__ import annotations

import json
import uuid

from babel.numbers import list_currencies
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Client


class Phase(models.TextChoices):
    """The lifecycle, in order; the order of the members is the order an engagement moves through."""

    DISCOVER = "discover", "Discover"
    PROTOTYPE = "prototype", "Prototype"
    VALIDATE = "validate", "Validate"
    SHIP = "ship", "Ship"
    ITERATE = "iterate", "Iterate"

    @classmethod
    def position_of(cls, value: str) -> int:
        return list(cls.values).index(value)

    @classmethod
    def after(cls, value: str) -> str | None:
        values = list(cls.values)
        position = values.index(value)
        return values[position + 1] if position + 1 < len(values) else None


def validate_currency(code: str) -> None:
    if code not in list_currencies():
        raise ValidationError(f"“{code}” is not an ISO 4217 currency code; use e.g. USD, EUR or GBP.")


class Engagement(models.Model):
    """A customer engagement: the unit everything a client may see hangs off."""

    class Health(models.TextChoices):
        ON_TRACK = "on_track", "On track"
        AT_RISK = "at_risk", "At risk"
        OFF_TRACK = "off_track", "Off track"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="engagements")
    name = models.CharField(max_length=200)
    problem_statement = models.TextField(blank=True)
    business_objective = models.TextField(blank=True)
    success_criteria = models.TextField(blank=True)
    start_date = models.DateField(null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.ON_TRACK)
    health_reason = models.CharField(max_length=300, blank=True)
    phase = models.CharField(max_length=20, choices=Phase.choices, default=Phase.DISCOVER)
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[validate_currency],
        help_text="ISO 4217 code every amount of this engagement (rates, costs, ROI) is in.",
    )
    phase_entered_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "name"], name="engagement_unique_name_per_client"),
            models.CheckConstraint(
                condition=Q(target_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(target_date__gte=F("start_date")),
                name="engagement_target_after_start",
                violation_error_message="The target date must be on or after the start date.",
            ),
        ]
        indexes = [models.Index(fields=["phase", "health"])]

    def __str__(self) -> str:
        return f"{self.client}: {self.name}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def days_in_phase(self) -> int:
        return (timezone.now() - self.phase_entered_at).days


class Assignment(models.Model):
    """Provider staff (an FDE) on an engagement's team."""

    class Role(models.TextChoices):
        LEAD = "lead", "Engagement lead"
        ENGINEER = "engineer", "Forward deployed engineer"
        ADVISOR = "advisor", "Advisor"

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignments",
        limit_choices_to={"is_provider": True},
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ENGINEER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "role", "user__email"]
        constraints = [models.UniqueConstraint(fields=["engagement", "user"], name="assignment_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} on {self.engagement} ({self.get_role_display()})"


class GateCriterion(models.Model):
    """One exit criterion of a phase: a checklist item a person ticks, or a value from a metric provider.

    The last evaluation is kept on the row (``last_value``/``last_passed``) so the portfolio board can show gate
    progress for hundreds of engagements without calling every provider.
    """

    class Kind(models.TextChoices):
        CHECKLIST = "checklist", "Checklist item"
        METRIC = "metric", "Evidence (metric)"

    class Comparison(models.TextChoices):
        GTE = "gte", "≥"
        GT = "gt", ">"
        LTE = "lte", "≤"
        LT = "lt", "<"
        EQ = "eq", "="

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="criteria")
    phase = models.CharField(max_length=20, choices=Phase.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHECKLIST)
    label = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    provider_key = models.CharField(
        max_length=100, blank=True, help_text="The metric provider's key; it may belong to an app added later."
    )
    params = models.JSONField(default=dict, blank=True)
    comparison = models.CharField(max_length=4, choices=Comparison.choices, default=Comparison.GTE)
    threshold = models.FloatField(null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_passed = models.BooleanField(default=False)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    visible_to_client = models.BooleanField(
        "visible to the client", default=False, help_text="Shown in the client portal; hidden unless an FDE ticks it."
    )

    class Meta:
        ordering = ["engagement", "phase", "position", "id"]
        indexes = [models.Index(fields=["engagement", "phase"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="checklist") | (~Q(provider_key="") & Q(threshold__isnull=False)),
                name="criterion_metric_has_provider_and_threshold",
                violation_error_message="An evidence criterion needs a metric provider and a numeric threshold.",
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_checklist(self) -> bool:
        return self.kind == self.Kind.CHECKLIST

    @property
    def params_json(self) -> str:
        return json.dumps(self.params) if self.params else ""

    def compare(self, value: float | None) -> bool:
        if value is None or self.threshold is None:
            return False
        return {
            "gte": value >= self.threshold,
            "gt": value > self.threshold,
            "lte": value <= self.threshold,
            "lt": value < self.threshold,
            "eq": value == self.threshold,
        }[self.comparison]


class PhaseTransition(models.Model):
    """A move between phases, with the gate as it stood at that moment."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="transitions")
    from_phase = models.CharField(max_length=20, choices=Phase.choices)
    to_phase = models.CharField(max_length=20, choices=Phase.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(blank=True)
    is_backward = models.BooleanField(default=False)
    override_reason = models.TextField(blank=True, help_text="Why a lead advanced past failing criteria.")
    snapshot = models.JSONField(default=list, help_text="Every gate criterion's value and verdict at the move.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["engagement", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.engagement}: {self.get_from_phase_display()} → {self.get_to_phase_display()}"

    @property
    def is_override(self) -> bool:
        return bool(self.override_reason)
