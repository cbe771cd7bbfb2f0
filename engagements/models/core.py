from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Client


class Engagement(models.Model):
    """A customer engagement: the unit everything a client may see hangs off."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="engagements")
    name = models.CharField(max_length=200)
    problem_statement = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name", "name"]
        constraints = [models.UniqueConstraint(fields=["client", "name"], name="engagement_unique_name_per_client")]

    def __str__(self) -> str:
        return f"{self.client}: {self.name}"


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
