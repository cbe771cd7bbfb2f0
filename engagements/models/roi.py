"""What an engagement's return on investment is computed from: rates, costs, valuation rules, assumptions, scenarios.

Money is kept as ``Decimal`` in the engagement's currency. Rates, costs, valuation rules and notes are internal to
the provider; the client sees only the figures computed from them (``engagements.roi.selectors.roi_client_summary``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from engagements.models.core import Assignment, Engagement
from engagements.models.kpis import Kpi

NOT_NEGATIVE = [MinValueValidator(Decimal(0))]
PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


def money_field(**options: Any) -> models.DecimalField:
    """An amount of money in the engagement's currency, to the cent, never negative."""
    return models.DecimalField(max_digits=14, decimal_places=2, validators=NOT_NEGATIVE, **options)


class HourlyRate(models.Model):
    """What an hour of FDE time costs the client: for one person, for a team role, or for anyone (the default).

    Effective-dated: the rate that applies to a time entry is the latest one whose ``effective_from`` is on or
    before the entry's date; a person's rate wins over their role's, which wins over the default.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="hourly_rates")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        limit_choices_to={"is_provider": True},
        help_text="A person's own rate; leave empty for a role's rate or the default.",
    )
    role = models.CharField(
        max_length=20,
        choices=Assignment.Role.choices,
        blank=True,
        help_text="A team role's rate; leave empty (with no person) for the default rate.",
    )
    hourly_rate = money_field()
    effective_from = models.DateField()
    note = models.CharField(max_length=300, blank=True, help_text="Internal; never shown to the client.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "user__email", "role", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(role=""),
                name="hourly_rate_person_or_role",
                violation_error_message="A rate is for a person or for a role, not both.",
            ),
            models.UniqueConstraint(
                fields=["engagement", "user", "effective_from"],
                condition=Q(user__isnull=False),
                name="hourly_rate_one_per_person_and_day",
                violation_error_message="This person already has a rate from that date; edit it instead.",
            ),
            models.UniqueConstraint(
                fields=["engagement", "role", "effective_from"],
                condition=Q(user__isnull=True),
                name="hourly_rate_one_per_role_and_day",
                violation_error_message="There is already a rate for this role from that date; edit it instead.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.applies_to}: {self.hourly_rate}/h from {self.effective_from}"

    @property
    def applies_to(self) -> str:
        if self.user_id:
            return str(self.user)
        return Assignment.Role(self.role).label if self.role else "Anyone (default)"


class CostItem(models.Model):
    """A cost that is not FDE time: a one-off (a security review, an integration) or a monthly recurring one."""

    class Category(models.TextChoices):
        ONE_OFF = "one_off", "One-off"
        RECURRING = "recurring", "Monthly, recurring"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="cost_items")
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.ONE_OFF)
    amount = money_field(help_text="For a recurring cost: per month.")
    starts_on = models.DateField(help_text="When a one-off cost falls, or the first month of a recurring one.")
    ends_on = models.DateField(
        null=True, blank=True, help_text="The last month of a recurring cost; empty runs to the end of the horizon."
    )
    note = models.CharField(max_length=300, blank=True, help_text="Internal; never shown to the client.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="cost_item_ends_after_start",
                violation_error_message="The last month must be on or after the first.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ValuationRule(models.Model):
    """How a KPI's improvement over its baseline turns into money each month.

    monthly benefit = improvement × ``factor`` × (monthly volume × adoption, when ``per_volume``) × ``unit_value``
    """

    class Kind(models.TextChoices):
        HOURS_SAVED = "hours_saved", "Hours saved × loaded hourly rate"
        COST_AVOIDED = "cost_avoided", "Cost avoided per unit"
        REVENUE_ADDED = "revenue_added", "Revenue added per unit"
        ERROR_COST_AVOIDED = "error_cost_avoided", "Error cost avoided"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="valuation_rules")
    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="valuation_rules")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    unit_value = money_field(
        help_text="Money per valued unit: the loaded hourly rate, the cost of one error, the revenue per unit, ...",
    )
    factor = models.FloatField(
        default=1.0, help_text="Converts the KPI's unit into the valued unit, e.g. 1/60 for minutes into hours."
    )
    per_volume = models.BooleanField(
        default=True,
        help_text="On: the KPI is measured per unit of work, so its improvement counts for every unit in the month's "
        "volume that uses the product. Off: the KPI is already a monthly total.",
    )
    note = models.CharField(max_length=300, blank=True, help_text="Internal; never shown to the client.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "kpi__tier", "kpi__name", "kind"]
        constraints = [models.UniqueConstraint(fields=["kpi", "kind"], name="valuation_rule_one_kind_per_kpi")]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.get_kind_display()}"


class RoiAssumptions(models.Model):
    """The engagement-wide inputs every scenario shares: the timeline, forecast effort and the run costs."""

    class InfraBasis(models.TextChoices):
        NONE = "none", "No infrastructure line"
        TOKENS = "tokens", "Price per 1M tokens × forecast tokens"
        HOURS = "hours", "Hourly price × hours per month"
        MONTHLY = "monthly", "A monthly amount"

    INPUTS: ClassVar[tuple[str, ...]] = (
        "start_month",
        "go_live_month",
        "horizon_months",
        "volume_unit",
        "build_hours_per_month",
        "support_hours_per_month",
        "tokens_in_per_unit",
        "tokens_out_per_unit",
        "infra_basis",
        "infra_use_measured",
        "infra_price_in_per_million",
        "infra_price_out_per_million",
        "infra_hourly_price",
        "infra_hours_per_month",
        "infra_monthly_amount",
        "measured_fx_rate",
        "api_price_in_per_million",
        "api_price_out_per_million",
        "note",
    )

    engagement = models.OneToOneField(Engagement, on_delete=models.CASCADE, related_name="roi_assumptions")
    start_month = models.DateField(help_text="The first month counted: the investment starts here.")
    go_live_month = models.DateField(help_text="The month the product goes into use: benefits and run costs start.")
    horizon_months = models.PositiveSmallIntegerField(
        default=24, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    volume_unit = models.CharField(
        max_length=60, default="units", help_text="What the monthly volume counts, e.g. claims or tickets."
    )
    build_hours_per_month = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal(0),
        validators=NOT_NEGATIVE,
        help_text="Forecast FDE hours in each month after this one until go-live.",
    )
    support_hours_per_month = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal(0),
        validators=NOT_NEGATIVE,
        help_text="Forecast FDE hours in each month from go-live on.",
    )
    tokens_in_per_unit = models.PositiveIntegerField(default=0, help_text="Prompt tokens per unit of work.")
    tokens_out_per_unit = models.PositiveIntegerField(default=0, help_text="Completion tokens per unit of work.")
    infra_basis = models.CharField(max_length=10, choices=InfraBasis.choices, default=InfraBasis.NONE)
    infra_use_measured = models.BooleanField(
        default=True,
        help_text="Use the deployments' measured prices where they exist; the prices below fill in where not.",
    )
    infra_price_in_per_million = money_field(null=True, blank=True)
    infra_price_out_per_million = money_field(null=True, blank=True)
    infra_hourly_price = money_field(null=True, blank=True)
    infra_hours_per_month = models.DecimalField(
        max_digits=6, decimal_places=1, default=Decimal(730), validators=[MinValueValidator(Decimal(0))]
    )
    infra_monthly_amount = money_field(null=True, blank=True)
    measured_fx_rate = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text="Converts measured prices kept in another currency: 1 unit of theirs in this engagement's.",
    )
    api_price_in_per_million = money_field(null=True, blank=True, help_text="Where the client pays a per-token API.")
    api_price_out_per_million = money_field(null=True, blank=True)
    note = models.TextField(blank=True, help_text="Internal; never shown to the client.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "ROI assumptions"
        constraints = [
            models.CheckConstraint(
                condition=Q(go_live_month__gte=models.F("start_month")),
                name="roi_go_live_after_start",
                violation_error_message="Go-live cannot be before the first month counted.",
            )
        ]

    def __str__(self) -> str:
        return f"ROI assumptions of {self.engagement}"


class RoiScenario(models.Model):
    """A named set of what-if inputs (volume, adoption, rates, discount rate) the ROI is computed under."""

    class Outlook(models.TextChoices):
        LATEST = "latest", "Latest measurement, held"
        TARGET = "target", "The KPI targets"

    INPUTS: ClassVar[tuple[str, ...]] = (
        "volume_per_month",
        "adoption_start_pct",
        "adoption_target_pct",
        "ramp_months",
        "value_rate_pct",
        "discount_rate_pct",
        "outlook",
        "note",
    )

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="roi_scenarios")
    name = models.CharField(max_length=80)
    volume_per_month = models.DecimalField(max_digits=14, decimal_places=2, help_text="Units of work per month.")
    adoption_start_pct = models.FloatField(default=50, validators=PERCENT)
    adoption_target_pct = models.FloatField(default=85, validators=PERCENT)
    ramp_months = models.PositiveSmallIntegerField(default=6, validators=[MaxValueValidator(60)])
    value_rate_pct = models.FloatField(
        default=100,
        validators=[MinValueValidator(0), MaxValueValidator(500)],
        help_text="The valuation rules' rates, as a percentage of what the rules say.",
    )
    discount_rate_pct = models.FloatField(
        default=10, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="Per year."
    )
    outlook = models.CharField(max_length=10, choices=Outlook.choices, default=Outlook.LATEST)
    is_primary = models.BooleanField(default=False, help_text="The scenario gates, the portal and roll-ups use.")
    note = models.CharField(max_length=300, blank=True, help_text="Internal; never shown to the client.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["engagement", "-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "name"],
                name="roi_scenario_unique_name",
                violation_error_message="A scenario with this name exists; choose another name or update it.",
            ),
            models.UniqueConstraint(
                fields=["engagement"], condition=Q(is_primary=True), name="roi_scenario_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return self.name
