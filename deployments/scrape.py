"""Record a scrape of a vLLM server's ``/metrics`` as a ``ServerSample``, with what changed since the last one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deployments import histograms, vllm
from deployments.models import Deployment, ServerSample

QUANTILES = ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000


@transaction.atomic
def server_sample_record(
    *,
    deployment: Deployment,
    snapshot: vllm.MetricsSnapshot | None,
    error: str = "",
    at: datetime | None = None,
) -> ServerSample:
    """Store one scrape; ``snapshot=None`` records a failed scrape with its ``error``.

    Counters and buckets that went down since the previous good scrape were reset by a server restart: their
    increase is their new value (Prometheus' rule), and the running totals carry on from where they were.
    """
    at = at or timezone.now()
    # Lock the deployment row so two overlapping scrapes of one server take turns computing their deltas.
    Deployment.objects.select_for_update().filter(pk=deployment.pk).first()
    if snapshot is None:
        return ServerSample.objects.create(deployment=deployment, scraped_at=at, ok=False, error=error[:300])
    previous = (
        ServerSample.objects.filter(deployment=deployment, ok=True, scraped_at__lt=at).order_by("-scraped_at").first()
    )
    sample = ServerSample(deployment=deployment, scraped_at=at, ok=True, **snapshot.gauges)
    reset = False
    increases: dict[str, float | None] = {}
    for key, raw in snapshot.counters.items():
        prev_raw = getattr(previous, f"{key}_raw", None) if previous else None
        prev_total = getattr(previous, f"{key}_total", None) if previous else None
        setattr(sample, f"{key}_raw", raw)
        if raw is None:
            increases[key] = None
            continue
        if prev_raw is None or prev_total is None:
            setattr(sample, f"{key}_total", raw)
            increases[key] = None
            continue
        increase, was_reset = histograms.counter_increase(prev_raw, raw)
        reset |= was_reset
        setattr(sample, f"{key}_total", prev_total + increase)
        increases[key] = increase
    for key, histogram in snapshot.histograms.items():
        setattr(sample, f"{key}_le", histogram.upper_bounds)
        setattr(sample, f"{key}_raw", histogram.cumulative)
        prev_le = getattr(previous, f"{key}_le", None) if previous else None
        if not previous or prev_le != histogram.upper_bounds:
            # First scrape, or the bucket layout changed (another vLLM version): start the totals afresh.
            setattr(sample, f"{key}_total", list(histogram.cumulative))
            reset |= bool(previous and prev_le)
            continue
        deltas, was_reset = histograms.bucket_increase(getattr(previous, f"{key}_raw"), histogram.cumulative)
        reset |= was_reset
        setattr(sample, f"{key}_total", [t + d for t, d in zip(getattr(previous, f"{key}_total"), deltas, strict=True)])
        for q, label in QUANTILES:
            setattr(sample, f"{key}_{label}_ms", _ms(histograms.quantile(q, histogram.upper_bounds, deltas)))
    if previous is not None:
        seconds = (at - previous.scraped_at).total_seconds()
        sample.interval_s = seconds
        sample.reset = reset
        sample.request_count = increases.get("requests")
        if seconds > 0:
            sample.prompt_tps = _rate(increases.get("prompt_tokens"), seconds)
            sample.generation_tps = _rate(increases.get("generation_tokens"), seconds)
        hits, queries = increases.get("prefix_hits"), increases.get("prefix_queries")
        sample.prefix_cache_hit_rate = hits / queries if hits is not None and queries else None
        sample.preemptions = increases.get("preemptions")
    sample.save()
    return sample


def _rate(increase: float | None, seconds: float) -> float | None:
    return None if increase is None else increase / seconds


def server_metrics_scrape(*, deployment: Deployment) -> ServerSample:
    """Scrape the deployment's server now and record the result (a failure is recorded, not raised)."""
    try:
        snapshot = vllm.fetch_metrics(deployment)
    except (vllm.ServerUnavailable, ValueError) as exc:
        return server_sample_record(deployment=deployment, snapshot=None, error=str(exc))
    return server_sample_record(deployment=deployment, snapshot=snapshot)


def server_samples_prune(*, now: datetime | None = None) -> int:
    """Drop samples older than ``SERVER_METRICS_RETENTION_DAYS``."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SERVER_METRICS_RETENTION_DAYS)
    deleted, _ = ServerSample.objects.filter(scraped_at__lt=cutoff).delete()
    return deleted


def scrape_targets() -> list[Any]:
    return list(Deployment.objects.filter(is_active=True, engine=Deployment.Engine.VLLM).values_list("pk", flat=True))
