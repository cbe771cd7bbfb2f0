"""What a deployment runs on and promises: the hardware catalogue, the model's shape, vLLM settings and the SLA.

The abstract groups below are mixed into ``Deployment``; ``HardwareType`` is the practice's editable price list.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class HardwareType(models.Model):
    """One kind of accelerator (or the CPU of a plain server) with its memory and an hourly on-demand price."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=60, unique=True, help_text='As people say it, e.g. "A100 80 GB".')
    memory_gib = models.DecimalField(
        "memory per device (GiB)",
        max_digits=7,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.1"))],
        help_text="Memory of one GPU; for CPU, the RAM the model server may use.",
    )
    hourly_price_usd = models.DecimalField(
        "price per device-hour (USD)",
        max_digits=8,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="What one device costs per hour where the client runs it; the seeded figures are typical "
        "public on-demand prices and are meant to be edited.",
    )
    is_cpu = models.BooleanField(
        "CPU server", default=False, help_text="No GPU: vLLM's CPU backend with a fixed KV-cache space."
    )
    note = models.CharField(max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["is_cpu", "memory_gib", "name"]

    def __str__(self) -> str:
        return self.name


class Environment(models.TextChoices):
    DEV = "dev", "Development"
    STAGING = "staging", "Staging"
    PROD = "prod", "Production"


class Quantization(models.TextChoices):
    BF16 = "bf16", "BF16"
    FP16 = "fp16", "FP16"
    FP8 = "fp8", "FP8"
    INT8 = "int8", "INT8"
    AWQ_INT4 = "awq", "AWQ INT4"
    GPTQ_INT4 = "gptq", "GPTQ INT4"


class KvCacheDtype(models.TextChoices):
    AUTO = "auto", "Same as the model (16-bit)"
    FP8 = "fp8", "FP8"


class SpeculativeMethod(models.TextChoices):
    OFF = "", "Off"
    NGRAM = "ngram", "N-gram (prompt lookup)"
    DRAFT = "draft_model", "Draft model"
    EAGLE = "eagle", "EAGLE"
    EAGLE3 = "eagle3", "EAGLE-3"


class ModelShape(models.Model):
    """The numbers the launch planner needs, usually read from the model's ``config.json``."""

    model_source = models.CharField(
        "model (Hugging Face id or path)",
        max_length=300,
        blank=True,
        help_text="What vLLM loads, e.g. meta-llama/Llama-3.1-70B-Instruct or /models/llama-70b.",
    )
    parameters_b = models.DecimalField(
        "parameters (billions)",
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text="Estimated from config.json when not given; override it with the model card's figure.",
    )
    num_layers = models.PositiveIntegerField("layers", null=True, blank=True)
    num_attention_heads = models.PositiveIntegerField("attention heads", null=True, blank=True)
    num_kv_heads = models.PositiveIntegerField("KV heads", null=True, blank=True)
    head_dim = models.PositiveIntegerField("head size", null=True, blank=True)
    max_position_embeddings = models.PositiveIntegerField("trained context length", null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def has_shape(self) -> bool:
        return all(v is not None for v in (self.parameters_b, self.num_layers, self.num_kv_heads, self.head_dim))


class ServingSettings(models.Model):
    """Hardware, quantization and the vLLM engine settings the deployment runs (or will run) with."""

    environment = models.CharField(max_length=10, choices=Environment.choices, default=Environment.DEV)
    hardware = models.ForeignKey(HardwareType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    hardware_count = models.PositiveSmallIntegerField(
        "devices", default=1, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    quantization = models.CharField(max_length=8, choices=Quantization.choices, default=Quantization.BF16)
    kv_cache_dtype = models.CharField(
        "KV-cache type", max_length=8, choices=KvCacheDtype.choices, default=KvCacheDtype.AUTO
    )
    tensor_parallel_size = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(64)]
    )
    max_num_seqs = models.PositiveIntegerField(
        "max concurrent sequences", default=256, validators=[MinValueValidator(1)]
    )
    gpu_memory_utilization = models.DecimalField(
        "GPU memory fraction",
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.90"),
        validators=[MinValueValidator(Decimal("0.10")), MaxValueValidator(Decimal("0.99"))],
    )
    cpu_kv_cache_gib = models.DecimalField(
        "CPU KV-cache space (GiB)",
        max_digits=6,
        decimal_places=1,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.1"))],
        help_text="Only for CPU servers (VLLM_CPU_KVCACHE_SPACE).",
    )
    enable_prefix_caching = models.BooleanField("prefix caching", default=True)
    enable_chunked_prefill = models.BooleanField("chunked prefill", default=True)
    speculative_method = models.CharField(
        "speculative decoding", max_length=20, choices=SpeculativeMethod.choices, default="", blank=True
    )
    speculative_model = models.CharField(
        "draft model", max_length=300, blank=True, help_text="For a draft model or EAGLE head."
    )
    num_speculative_tokens = models.PositiveSmallIntegerField(
        "speculative tokens", default=5, validators=[MinValueValidator(1), MaxValueValidator(32)]
    )
    priority_scheduling = models.BooleanField(
        default=False, help_text="vLLM schedules by request priority instead of first come, first served."
    )
    enforce_eager = models.BooleanField(
        "eager mode", default=False, help_text="No CUDA graphs: faster start, slower decoding."
    )

    class Meta:
        abstract = True


class ServiceLevel(models.Model):
    """The SLA the deployment is judged against; an empty target is not judged."""

    sla_ttft_p95_ms = models.PositiveIntegerField("p95 time to first token (ms)", null=True, blank=True)
    sla_itl_p95_ms = models.PositiveIntegerField("p95 inter-token latency (ms)", null=True, blank=True)
    sla_e2e_p95_ms = models.PositiveIntegerField("p95 end-to-end latency (ms)", null=True, blank=True)
    sla_min_tokens_per_s = models.DecimalField(
        "min output tokens/s per user",
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    sla_max_error_rate = models.DecimalField(
        "max error rate (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    sla_window_minutes = models.PositiveIntegerField(
        "judged over (minutes)",
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(7 * 24 * 60)],
        help_text="Each check judges the calls of this trailing window; an alert opens when a breach lasts "
        "a whole window.",
    )

    class Meta:
        abstract = True

    @property
    def has_sla(self) -> bool:
        return any(
            v is not None
            for v in (
                self.sla_ttft_p95_ms,
                self.sla_itl_p95_ms,
                self.sla_e2e_p95_ms,
                self.sla_min_tokens_per_s,
                self.sla_max_error_rate,
            )
        )


class HealthState(models.Model):
    """The last health check's result, written by the periodic check and read by pages and /healthz."""

    health_ok = models.BooleanField(null=True, blank=True, editable=False)
    health_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    health_latency_ms = models.FloatField(null=True, blank=True, editable=False)
    health_error = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        abstract = True
