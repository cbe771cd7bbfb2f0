"""Samples of a vLLM server's own ``/metrics``, one row per scrape.

Counters and histogram buckets are kept twice: as the server reported them (``raw``), to detect a restart at the
next scrape, and reset-corrected (``total``: every increase since the first scrape, the way Prometheus' ``increase``
counts across a counter reset), so the increase over any time range is the difference of two rows. Each row also
holds what happened since the previous scrape: percentiles from the bucket deltas, token rates and the prefix-cache
hit rate, ready to chart without further work.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


def _floats() -> ArrayField:
    return ArrayField(models.FloatField(), default=list, blank=True)


class ServerSample(models.Model):
    id = models.BigAutoField(primary_key=True)
    deployment = models.ForeignKey(
        "deployments.Deployment", on_delete=models.CASCADE, related_name="server_samples", db_index=False
    )
    scraped_at = models.DateTimeField()
    ok = models.BooleanField(default=True)
    error = models.CharField(max_length=300, blank=True)

    # gauges at scrape time
    running = models.FloatField(null=True)
    waiting = models.FloatField(null=True)
    kv_cache_usage = models.FloatField(null=True, help_text="0..1")

    # counters: raw as reported, and reset-corrected running totals
    requests_raw = models.FloatField(null=True)
    requests_total = models.FloatField(null=True)
    prompt_tokens_raw = models.FloatField(null=True)
    prompt_tokens_total = models.FloatField(null=True)
    generation_tokens_raw = models.FloatField(null=True)
    generation_tokens_total = models.FloatField(null=True)
    prefix_hits_raw = models.FloatField(null=True)
    prefix_hits_total = models.FloatField(null=True)
    prefix_queries_raw = models.FloatField(null=True)
    prefix_queries_total = models.FloatField(null=True)
    preemptions_raw = models.FloatField(null=True)
    preemptions_total = models.FloatField(null=True)
    prefill_seconds_raw = models.FloatField(null=True)
    prefill_seconds_total = models.FloatField(null=True)
    decode_seconds_raw = models.FloatField(null=True)
    decode_seconds_total = models.FloatField(null=True)

    # histograms: bucket upper bounds (seconds, +Inf last), raw and reset-corrected cumulative counts
    ttft_le = _floats()
    ttft_raw = _floats()
    ttft_total = _floats()
    itl_le = _floats()
    itl_raw = _floats()
    itl_total = _floats()
    e2e_le = _floats()
    e2e_raw = _floats()
    e2e_total = _floats()

    # what happened since the previous scrape (null on the first scrape, after a failed one, or with no requests)
    interval_s = models.FloatField(null=True)
    reset = models.BooleanField(default=False, help_text="The server restarted since the previous scrape.")
    ttft_p50_ms = models.FloatField(null=True)
    ttft_p95_ms = models.FloatField(null=True)
    ttft_p99_ms = models.FloatField(null=True)
    itl_p50_ms = models.FloatField(null=True)
    itl_p95_ms = models.FloatField(null=True)
    itl_p99_ms = models.FloatField(null=True)
    e2e_p50_ms = models.FloatField(null=True)
    e2e_p95_ms = models.FloatField(null=True)
    e2e_p99_ms = models.FloatField(null=True)
    request_count = models.FloatField(null=True)
    prompt_tps = models.FloatField("prompt tokens/s", null=True)
    generation_tps = models.FloatField("generation tokens/s", null=True)
    prefix_cache_hit_rate = models.FloatField(null=True)
    preemptions = models.FloatField(null=True)

    class Meta:
        ordering = ["-scraped_at"]
        # The gauges ride in the index so the dashboard's per-bucket pass never reads the wide rows with arrays.
        indexes = [
            models.Index(
                fields=["deployment", "scraped_at"],
                include=["ok", "running", "waiting", "kv_cache_usage"],
                name="serversample_deployment_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} @ {self.scraped_at:%Y-%m-%d %H:%M:%S}"
