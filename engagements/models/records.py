from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from engagements.models.core import Engagement, Phase

LEVEL_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


class Stakeholder(models.Model):
    class Role(models.TextChoices):
        SPONSOR = "sponsor", "Sponsor"
        CHAMPION = "champion", "Champion"
        END_USER = "end_user", "End user"
        IT = "it", "IT"
        SECURITY = "security", "Security"
        LEGAL = "legal", "Legal"

    class Level(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="stakeholders")
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    influence = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    interest = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.MEDIUM)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "-influence", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class SignOff(models.Model):
    """A stakeholder's sign-off on a phase's outcome, recorded by the FDE who received it."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="signoffs")
    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.CASCADE, related_name="signoffs")
    phase = models.CharField(max_length=20, choices=Phase.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "phase", "created_at"]
        constraints = [models.UniqueConstraint(fields=["stakeholder", "phase"], name="signoff_once_per_phase")]

    def __str__(self) -> str:
        return f"{self.stakeholder} signed off {self.get_phase_display()}"


class Requirement(models.Model):
    class Priority(models.TextChoices):
        MUST = "must", "Must have"
        SHOULD = "should", "Should have"
        COULD = "could", "Could have"
        WONT = "wont", "Won't have"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="requirements")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.SHOULD)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    acceptance_criteria = models.TextField(blank=True)
    visible_to_client = models.BooleanField(
        "visible to the client", default=False, help_text="Shown in the client portal; hidden unless an FDE ticks it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "priority", "title"]

    def __str__(self) -> str:
        return self.title


class Risk(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATING = "mitigating", "Mitigating"
        CLOSED = "closed", "Closed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="risks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    likelihood = models.PositiveSmallIntegerField(
        validators=LEVEL_VALIDATORS, help_text="1 (rare) to 5 (almost certain)"
    )
    impact = models.PositiveSmallIntegerField(validators=LEVEL_VALIDATORS, help_text="1 (minor) to 5 (severe)")
    owner = models.CharField(max_length=200, blank=True)
    mitigation = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    visible_to_client = models.BooleanField(
        "visible to the client", default=False, help_text="Shown in the client portal; hidden unless an FDE ticks it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "status", "-likelihood", "-impact"]
        constraints = [
            models.CheckConstraint(condition=models.Q(likelihood__range=(1, 5)), name="risk_likelihood_1_5"),
            models.CheckConstraint(condition=models.Q(impact__range=(1, 5)), name="risk_impact_1_5"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


class Decision(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="decisions")
    title = models.CharField(max_length=200)
    context = models.TextField(blank=True)
    decision = models.TextField()
    consequences = models.TextField(blank=True)
    decided_on = models.DateField(default=timezone.localdate)
    visible_to_client = models.BooleanField(
        "visible to the client", default=False, help_text="Shown in the client portal; hidden unless an FDE ticks it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "-decided_on", "-id"]

    def __str__(self) -> str:
        return self.title


class Activity(models.Model):
    """One line of an engagement's activity feed, written by the service that did the thing."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=200)
    target = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=500, blank=True)
    client_visible = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["engagement", "-created_at"])]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.actor or 'System'} {self.verb} {self.target}".strip()
