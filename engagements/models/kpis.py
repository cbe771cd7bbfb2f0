from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from engagements.models.core import Engagement, Phase


class Kpi(models.Model):
    """A measure the engagement's return is judged on: baseline, target, and measurements over time."""

    class Tier(models.TextChoices):
        OPERATIONAL = "operational", "Operational"
        BUSINESS = "business", "Business"
        FINANCIAL = "financial", "Financial"

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="kpis")
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.OPERATIONAL)
    unit = models.CharField(max_length=40, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.HIGHER)
    baseline = models.FloatField(null=True, blank=True)
    target = models.FloatField(null=True, blank=True)
    provider_key = models.CharField(
        max_length=100, blank=True, help_text="Optional: a metric provider that supplies measurements."
    )
    provider_params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "tier", "name"]
        constraints = [models.UniqueConstraint(fields=["engagement", "name"], name="kpi_unique_name")]

    def __str__(self) -> str:
        return self.name

    def meets_target(self, value: float | None) -> bool | None:
        if value is None or self.target is None:
            return None
        return value >= self.target if self.direction == self.Direction.HIGHER else value <= self.target


class KpiMeasurement(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        CSV = "csv", "Imported from CSV"
        PROVIDER = "provider", "Metric provider"

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="measurements")
    measured_on = models.DateField()
    value = models.FloatField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kpi", "measured_on", "id"]
        # One value per KPI per day: re-importing a CSV or re-running a provider updates instead of duplicating.
        constraints = [models.UniqueConstraint(fields=["kpi", "measured_on"], name="kpi_measurement_one_per_day")]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.value:g} on {self.measured_on}"


class TimeEntry(models.Model):
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="time_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_entries")
    date = models.DateField()
    hours = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.25")), MaxValueValidator(Decimal("24"))],
    )
    phase = models.CharField(max_length=20, choices=Phase.choices)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "-date", "-id"]
        verbose_name_plural = "time entries"
        indexes = [models.Index(fields=["engagement", "user"])]

    def __str__(self) -> str:
        return f"{self.user} {self.hours} h on {self.date}"
