"""Client applications and their gateway API keys: how a client's own programs call models through the gateway."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Priority(models.TextChoices):
    INTERACTIVE = "interactive", "Interactive (a person is waiting)"
    BATCH = "batch", "Batch (background work)"


class ClientApplication(models.Model):
    """One of a client's programs (a support bot, a nightly batch job) that calls models through the gateway."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="client_applications"
    )
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    priority = models.CharField(
        max_length=12,
        choices=Priority.choices,
        default=Priority.INTERACTIVE,
        help_text="When a deployment is at its concurrency cap, interactive calls are admitted before batch ones. "
        "A call may lower its own priority with the header X-Priority: batch.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["engagement", "name"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "name"], name="clientapplication_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class GatewayKey(models.Model):
    """An API key of a client application; only its SHA-256 is stored and the key itself is shown once."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(ClientApplication, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100, help_text='Where the key is used, e.g. "production" or "staging".')
    prefix = models.CharField(
        max_length=12, editable=False, help_text="The key's first characters, to tell keys apart."
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    deployments = models.ManyToManyField(
        "deployments.Deployment",
        related_name="gateway_keys",
        help_text="The deployments this key may call; the request's model field picks one of them.",
    )
    requests_per_minute = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text="Calls beyond this in any 60 seconds get HTTP 429 with Retry-After.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
