"""Jobs of every kind in the app's /metrics, counted in the database at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobs import registry
from jobs.models import JobStatus


class JobsCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("fde_jobs", "Jobs by kind and status", labels=["kind", "status"])
        stale = GaugeMetricFamily(
            "fde_jobs_stale", "Running jobs whose worker has been silent longer than the kind's limit", labels=["kind"]
        )
        for kind, model in registry.kinds().items():
            counts = dict.fromkeys(JobStatus.values, 0)
            for row in model._default_manager.values("status").annotate(n=Count("pk")).order_by():
                counts[row["status"]] = row["n"]
            for status, n in counts.items():
                jobs.add_metric([kind, status], n)
            silent = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=timezone.now() - model.stale_after)
            stale.add_metric([kind], model._default_manager.filter(silent, status=JobStatus.RUNNING).count())
        yield jobs
        yield stale
