"""Model endpoints (vLLM or any OpenAI-compatible server) and the log of every call made to them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils import timezone

from deployments import crypto
from deployments.models.alerts import SlaStatus
from deployments.models.fleet import HealthState, ModelShape, ServiceLevel, ServingSettings
from deployments.validators import validate_endpoint_url


class EncryptedApiKey(models.Model):
    """An API key kept encrypted at rest; set and read it through ``api_key``, never render it."""

    api_key_encrypted = models.TextField(blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def api_key(self) -> str:
        return crypto.decrypt(self.api_key_encrypted)

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.api_key_encrypted = crypto.encrypt(value)

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_encrypted)


class Deployment(EncryptedApiKey, ModelShape, ServingSettings, ServiceLevel, HealthState, SlaStatus):
    """A model endpoint that speaks the OpenAI HTTP API: a vLLM server or any compatible service.

    Its shape, hardware, vLLM settings, SLA and last health and SLA verdicts come from the groups in
    ``deployments.models.fleet`` and ``deployments.models.alerts``.
    """

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
    context_window = models.PositiveIntegerField(
        "context window (tokens)",
        default=2048,
        help_text="The server's maximum model length; prompts are cut to fit it with room for the answer.",
    )
    engagement = models.ForeignKey(
        "engagements.Engagement",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deployments",
        help_text="Leave empty for an endpoint shared by the whole practice.",
    )
    is_active = models.BooleanField(default=True)
    fallback = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Answers gateway calls in this deployment's place while it is down or its circuit breaker is open.",
    )
    gateway_concurrency = models.PositiveIntegerField(
        "gateway concurrency cap",
        default=32,
        help_text="Most calls the gateway sends to this deployment at once (0: no cap). When it is reached, "
        "interactive calls are admitted before batch ones.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def root_url(self) -> str:
        """The server root (where vLLM's /metrics and /health live), i.e. the base URL without /v1."""
        url = self.base_url.rstrip("/")
        return url[: -len("/v1")] if url.endswith("/v1") else url


class ModelCall(models.Model):
    """One call to a model endpoint, written by ``deployments.gateway`` for every generation the product makes.

    Latency dashboards, load tests and cost figures read this table, so it is built to hold millions of rows:
    narrow fixed-width columns only (inter-token gaps kept as a five-number summary, not an array or JSON; the
    error text is capped), a BRIN index on ``created_at`` (rows arrive in time order, so a BRIN index costs a few
    pages where a B-tree would cost gigabytes and still prunes time-range scans), and B-trees on
    (deployment, created_at) and (engagement, created_at) for the per-endpoint and per-engagement windows the
    dashboards ask for. Prompts and completions are not stored here; the callers keep what they need.
    """

    class Status(models.TextChoices):
        OK = "ok", "OK"
        TIMEOUT = "timeout", "Timed out"
        UNREACHABLE = "unreachable", "Unreachable"
        ERROR = "error", "Error"
        REJECTED = "rejected", "Rejected"  # the endpoint refused the request itself, e.g. over the context window

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="calls", db_index=False)
    engagement = models.ForeignKey(
        "engagements.Engagement", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    caller = models.CharField(max_length=40, help_text='What made the call, e.g. "rag.ask", "rag.judge".')
    application = models.ForeignKey(
        "deployments.ClientApplication",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,
        help_text="The client application whose key made the call through the OpenAI-compatible gateway.",
    )
    fallback_from = models.ForeignKey(
        Deployment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        help_text="The deployment asked for, when its fallback answered instead.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OK)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.FloatField("time to first token (ms)", null=True, blank=True)
    total_ms = models.FloatField("end-to-end time (ms)")
    gap_count = models.PositiveIntegerField(default=0)
    gap_mean_ms = models.FloatField(null=True, blank=True)
    gap_p50_ms = models.FloatField(null=True, blank=True)
    gap_p95_ms = models.FloatField(null=True, blank=True)
    gap_max_ms = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            BrinIndex(fields=["created_at"], name="modelcall_created_brin"),
            # Covering: the dashboard's percentile series and cost sums read only the index (no heap visits).
            models.Index(
                fields=["deployment", "created_at"],
                include=["status", "ttft_ms", "gap_mean_ms", "total_ms", "prompt_tokens", "completion_tokens"],
                name="modelcall_deployment_time",
            ),
            models.Index(
                fields=["engagement", "created_at"],
                name="modelcall_engagement_time",
                condition=models.Q(engagement__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caller} → {self.deployment_id} ({self.status}, {self.total_ms:.0f} ms)"
