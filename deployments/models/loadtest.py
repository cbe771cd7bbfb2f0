"""Load benchmarks: one row per run (a job the worker carries out, or a file imported from another tool), one row
per request it measured, and the two planning inputs that read them: capacity plans and the API price catalogue."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from jobs.models import Job
from jobs.registry import register


class Profile(models.TextChoices):
    SYNCHRONOUS = "synchronous", "One request at a time"
    CONCURRENT = "concurrent", "Fixed concurrency"
    CONSTANT = "constant", "Constant rate"
    POISSON = "poisson", "Poisson arrivals"
    SWEEP = "sweep", "Sweep (step the load up)"


class SweepOver(models.TextChoices):
    CONCURRENCY = "concurrency", "Concurrency"
    RATE = "rate", "Request rate (Poisson)"


class Workload(models.TextChoices):
    SYNTHETIC = "synthetic", "Synthetic prompts"
    SHARED_PREFIX = "shared_prefix", "Shared prefix"
    REPLAY = "replay", "Replay of the engagement's logged questions"
    RAG = "rag", "Eval dataset through a prototype's RAG pipeline (retrieval included)"


class Source(models.TextChoices):
    PRODUCT = "product", "Run here"
    GUIDELLM = "guidellm", "GuideLLM report"
    VLLM_BENCH = "vllm_bench", "vllm bench serve result"


@register
class LoadTest(Job):
    """A job row: one load test of one deployment, level by level (one level unless it is a sweep).

    ``progress`` counts the levels finished; a retry starts again at the first unfinished level. ``engagement`` is
    the deployment's, so the engagement's team sees and stops it.
    """

    job_kind = "load-test"
    task_name = "deployments.run_load_test"
    stale_after = timedelta(minutes=2)  # the run beats every second while a level runs
    max_attempts = 2
    unit = "levels"
    reload_on_finish = True
    list_related = ("deployment",)

    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="load_tests")
    name = models.CharField(max_length=120, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.PRODUCT)
    source_file = models.CharField(max_length=200, blank=True)

    profile = models.CharField(max_length=12, choices=Profile.choices, default=Profile.CONCURRENT)
    sweep_over = models.CharField(max_length=12, choices=SweepOver.choices, default=SweepOver.CONCURRENCY)
    levels = ArrayField(
        models.FloatField(), default=list, help_text="Concurrency or requests/s of each level, in the order run."
    )
    duration_s = models.PositiveIntegerField(
        "seconds per level", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )
    max_requests = models.PositiveIntegerField(
        "requests per level", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100_000)]
    )
    warmup_s = models.PositiveIntegerField("warm-up seconds", default=0, validators=[MaxValueValidator(600)])
    seed = models.PositiveIntegerField(default=0)

    workload = models.CharField(max_length=16, choices=Workload.choices, default=Workload.SYNTHETIC)
    input_tokens = models.PositiveIntegerField(default=128, validators=[MinValueValidator(1)])
    input_tokens_sd = models.PositiveIntegerField("input tokens spread (sd)", default=0)
    output_tokens = models.PositiveIntegerField(default=64, validators=[MinValueValidator(1)])
    output_tokens_sd = models.PositiveIntegerField("output tokens spread (sd)", default=0)
    fixed_output = models.BooleanField(
        "fixed output length", default=True, help_text="Ask the server to ignore end-of-sequence (vLLM honours it)."
    )
    prefix_tokens = models.PositiveIntegerField("shared prefix tokens", default=0)
    prototype_version = models.ForeignKey(
        "rag.PrototypeVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The RAG workload's prototype, at its latest version when the run started.",
    )  # fmt: skip
    eval_dataset = models.ForeignKey(
        "rag.EvalDataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The RAG workload's questions.",
    )  # fmt: skip
    sla = models.JSONField(default=dict, blank=True, help_text="The SLA targets in force when the run started.")
    note = models.TextField(blank=True, help_text="Why the run ended where it did (a sweep's plateau, a stop).")

    class Meta(Job.Meta):
        indexes = [models.Index(fields=["deployment", "queued_at"], name="loadtest_deployment_time")]

    def __str__(self) -> str:
        return self.name or f"{self.get_profile_display()} at {self.queued_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("deployments:loadtest", args=[self.uuid])


class LoadTestRequest(models.Model):
    """One measured request; times in milliseconds, ``started_s`` from the run's start."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(LoadTest, on_delete=models.CASCADE, related_name="requests")
    level = models.PositiveSmallIntegerField(default=0)
    index = models.PositiveIntegerField()
    started_s = models.FloatField()
    warmup = models.BooleanField(default=False)
    ok = models.BooleanField()
    error = models.CharField(max_length=300, blank=True)
    ttft_ms = models.FloatField(null=True)
    itl_ms = models.FloatField(null=True, help_text="Mean gap between streamed tokens.")
    tpot_ms = models.FloatField(null=True, help_text="(end to end - first token) / (output tokens - 1).")
    e2e_ms = models.FloatField()
    prompt_tokens = models.PositiveIntegerField(null=True)
    output_tokens = models.PositiveIntegerField(default=0)
    retrieval_ms = models.FloatField(
        null=True, help_text="RAG workload: retrieval and prompt building, included in ttft_ms and e2e_ms."
    )
    declined = models.BooleanField(default=False, help_text="RAG workload: the prototype declined; no generation.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "level", "index"], name="loadtestrequest_unique")]

    def __str__(self) -> str:
        return f"request {self.index} of level {self.level}"


class ApiPrice(models.Model):
    """A per-token API offer to compare a dedicated deployment with; the seeded prices are meant to be edited."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(max_length=60)
    model = models.CharField(max_length=120)
    input_usd_per_1m = models.DecimalField(
        "input $ per 1M tokens", max_digits=9, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )
    output_usd_per_1m = models.DecimalField(
        "output $ per 1M tokens", max_digits=9, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )
    note = models.CharField(max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "model"]
        constraints = [models.UniqueConstraint(fields=["provider", "model"], name="apiprice_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.model}"


class CapacityPlan(models.Model):
    """The traffic an engagement expects on a deployment, and what it may spend; the plan's answer is computed."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey("engagements.Engagement", on_delete=models.CASCADE, related_name="capacity_plans")
    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="capacity_plans")
    peak_rps = models.DecimalField(
        "peak requests/s", max_digits=10, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    input_tokens = models.PositiveIntegerField("input tokens per request", validators=[MinValueValidator(1)])
    output_tokens = models.PositiveIntegerField("output tokens per request", validators=[MinValueValidator(1)])
    growth_pct_per_month = models.DecimalField(
        "growth per month (%)", max_digits=6, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("-99")), MaxValueValidator(Decimal("1000"))],
    )  # fmt: skip
    horizon_months = models.PositiveSmallIntegerField(
        "plan for (months ahead)", default=12, validators=[MaxValueValidator(120)]
    )
    peak_to_average = models.DecimalField(
        "peak-to-average ratio", max_digits=6, decimal_places=2, default=Decimal("3"),
        validators=[MinValueValidator(Decimal("1"))],
        help_text="Peak requests/s over the month's average: it turns the peak into monthly traffic.",
    )  # fmt: skip
    monthly_budget_usd = models.DecimalField(
        "monthly budget ($)", max_digits=12, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )  # fmt: skip
    api_price = models.ForeignKey(
        ApiPrice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The per-token API to compare with.",
    )  # fmt: skip
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["engagement", "deployment"], name="capacityplan_unique")]

    def __str__(self) -> str:
        return f"capacity plan for {self.deployment_id}"
