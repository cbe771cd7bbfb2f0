from __future__ import annotations

import uuid

from django.db import models

from deployments import crypto
from deployments.validators import validate_endpoint_url


class Deployment(models.Model):
    """A model endpoint that speaks the OpenAI HTTP API: a vLLM server or any compatible service."""

    class Engine(models.TextChoices):
        VLLM = "vllm", "vLLM"
        OPENAI_COMPATIBLE = "openai", "OpenAI-compatible"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, unique=True)
    engine = models.CharField(max_length=20, choices=Engine.choices, default=Engine.VLLM)
    base_url = models.CharField(
        "base URL",
        max_length=500,
        validators=[validate_endpoint_url],
        help_text="The OpenAI-compatible root, ending in /v1, e.g. http://gpu-1:8000/v1",
    )
    served_model_name = models.CharField(max_length=200, help_text="The model name the server answers to.")
    api_key_encrypted = models.TextField(blank=True, editable=False)
    engagement = models.ForeignKey(
        "engagements.Engagement",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deployments",
        help_text="Leave empty for an endpoint shared by the whole practice.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def api_key(self) -> str:
        return crypto.decrypt(self.api_key_encrypted)

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.api_key_encrypted = crypto.encrypt(value)

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)

    @property
    def root_url(self) -> str:
        """The server root (where vLLM's /metrics and /health live), i.e. the base URL without /v1."""
        url = self.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url
