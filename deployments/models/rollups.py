"""Hourly rollups of the call log, kept by PostgreSQL triggers so that every writer keeps them exact.

A week of one busy deployment's calls is tens of thousands of rows; its hours are 168 rows of sums plus a sparse
latency histogram per hour. The triggers (migration ``0009_call_rollups``) add each inserted call to its hour and
subtract each deleted one, statement by statement, whichever process wrote it: the in-process gateway, the
OpenAI-compatible gateway's batched writer, a seed or a bulk import. A call that streams for minutes is logged under
its start time after it ends, so a rollup filled later by a periodic job could miss it; a trigger cannot.
See ``deployments.rollups`` for the bucket layout and how the dashboard reads them.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from deployments.models.endpoints import Deployment


class ModelCallHour(models.Model):
    """One deployment's calls in one UTC hour: counts and sums, the same figures the dashboard's series sums."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    calls = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    prefill_ms = models.FloatField(default=0.0, help_text="Sum of time to first token of the successful calls.")
    decode_ms = models.FloatField(default=0.0, help_text="Sum of end-to-end minus time to first token, same calls.")
    timed_calls = models.IntegerField(default=0, help_text="Successful calls with a mean inter-token gap.")
    # The hour's histograms, copied from its ModelCallHourBucket rows by the trigger, so a week drawn in hours reads
    # 168 rows and sums nothing.
    ttft_buckets = ArrayField(models.SmallIntegerField(), null=True)
    ttft_counts = ArrayField(models.IntegerField(), null=True)
    itl_buckets = ArrayField(models.SmallIntegerField(), null=True)
    itl_counts = ArrayField(models.IntegerField(), null=True)
    e2e_buckets = ArrayField(models.SmallIntegerField(), null=True)
    e2e_counts = ArrayField(models.IntegerField(), null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment", "hour"], name="modelcallhour_unique")]

    def __str__(self) -> str:
        return f"{self.deployment_id} {self.hour:%Y-%m-%d %H:00}: {self.calls} calls"


class ModelCallHourBucket(models.Model):
    """How many of a deployment's successful calls in one hour had a latency in one log-spaced bucket."""

    class Metric(models.IntegerChoices):
        TTFT = 1, "time to first token"
        ITL = 2, "mean inter-token gap"
        E2E = 3, "end to end"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    metric = models.SmallIntegerField(choices=Metric.choices)
    bucket = models.SmallIntegerField()
    calls = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "hour", "metric", "bucket"], include=["calls"], name="modelcallhourbucket_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.deployment_id} {self.hour:%Y-%m-%d %H:00} {self.get_metric_display()} #{self.bucket}: {self.calls}"
        )
