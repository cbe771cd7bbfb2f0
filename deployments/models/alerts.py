"""SLA state per deployment, the alerts a sustained breach opens, and where an engagement wants them sent."""

from __future__ import annotations

import uuid

from django.db import models

from deployments import crypto
from deployments.validators import validate_endpoint_url


class SlaState(models.TextChoices):
    UNSET = "unset", "No SLA"
    NO_DATA = "no_data", "No traffic"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"


class SlaStatus(models.Model):
    """The last SLA verdict over the deployment's judging window, written by the periodic SLA check."""

    sla_state = models.CharField(max_length=10, choices=SlaState.choices, default=SlaState.UNSET, editable=False)
    sla_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_breach_since = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Start of the current unbroken breach."
    )
    sla_figures = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        abstract = True


class SlaAlert(models.Model):
    """A breach that lasted a whole judging window; closed by the check that finds the SLA holding again."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="alerts")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    breach_started_at = models.DateTimeField()
    summary = models.CharField(max_length=500)
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment"], condition=models.Q(closed_at__isnull=True), name="one_open_alert_per_deployment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deployment} breach since {self.breach_started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AlertWebhook(models.Model):
    """A Slack-compatible incoming webhook an engagement's alerts are posted to; the URL is a secret."""

    engagement = models.OneToOneField("engagements.Engagement", on_delete=models.CASCADE, related_name="alert_webhook")
    url_encrypted = models.TextField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Alert webhook of {self.engagement}"

    @property
    def url(self) -> str:
        return crypto.decrypt(self.url_encrypted)

    @url.setter
    def url(self, value: str) -> None:
        validate_endpoint_url(value)
        self.url_encrypted = crypto.encrypt(value)
