"""The abstract job row every kind of slow work inherits: status, progress, attempts, heartbeat, cancel, owner."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(models.Model):
    """One piece of slow work, run by a Celery task that claims this row, beats its heart and records the outcome.

    A kind subclasses it, sets the class attributes below, registers itself with ``jobs.registry.register`` and
    writes a task named ``task_name`` that takes the row's pk and calls ``jobs.services.execute``.
    """

    Status: ClassVar[type[JobStatus]] = JobStatus

    job_kind: ClassVar[str]  # a short slug: the Jobs page's filter, the URLs, the /metrics label
    task_name: ClassVar[str]  # the Celery task that takes the row's pk
    stale_after: ClassVar[timedelta] = timedelta(minutes=5)  # longest silence between heartbeats of a live worker
    max_attempts: ClassVar[int] = 3  # claims before the job fails instead of starting again
    unit: ClassVar[str] = "items"  # what progress counts, as the progress bar says it
    finished_event: ClassVar[str] = "job-finished"  # htmx event the progress partial sends when the job ends
    reload_on_finish: ClassVar[bool] = False  # reload the owning page once when the job ends
    list_related: ClassVar[tuple[str, ...]] = ()  # what __str__ and get_absolute_url read, for the Jobs page

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, help_text="What went wrong, as everyone who sees the job may read it.")
    last_error_detail = models.TextField(blank=True, help_text="The full reason, for provider staff: may name hosts.")
    current_step = models.CharField(max_length=300, blank=True, help_text="What the job is working on now.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    engagement = models.ForeignKey(
        "engagements.Engagement", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True
        ordering = ["-queued_at"]

    def get_absolute_url(self) -> str:
        """The page that owns this job (the Jobs page links to it)."""
        return ""

    @property
    def queue_unreachable(self) -> bool:
        """Set on the instance that queued the job when the broker could not be reached (see jobs.services)."""
        return bool(getattr(self, "_queue_unreachable", False)) and self.status == JobStatus.QUEUED

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def percent(self) -> int:
        if self.total:
            return min(100, int(100 * self.progress / self.total))
        return 100 if self.status == JobStatus.SUCCEEDED else 0

    @property
    def rate_per_minute(self) -> float | None:
        """Items finished per minute since the job first started, while it runs."""
        if self.status != JobStatus.RUNNING or not self.started_at or not self.progress:
            return None
        seconds = (timezone.now() - self.started_at).total_seconds()
        return 60 * self.progress / seconds if seconds > 0 else None

    @property
    def seconds_left(self) -> int | None:
        rate = self.rate_per_minute
        if not rate or not self.total or self.progress >= self.total:
            return None
        return int(60 * (self.total - self.progress) / rate)

    @property
    def heartbeat_age(self) -> timedelta | None:
        return timezone.now() - self.heartbeat_at if self.heartbeat_at else None

    @property
    def is_stale(self) -> bool:
        age = self.heartbeat_age
        return self.status == JobStatus.RUNNING and (age is None or age > self.stale_after)

    @property
    def can_retry(self) -> bool:
        return self.status in {JobStatus.FAILED, JobStatus.CANCELLED}

    @property
    def can_cancel(self) -> bool:
        return self.is_active and not self.cancel_requested
