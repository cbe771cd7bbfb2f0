"""Gate review packs: a versioned document (page and PDF) of a gate's evidence, and the stakeholders' answers to it.

A pack is a job row while it is built (the field names are the shared job mechanism's) and a frozen version once it
is done: ``content`` keeps every section as it stood at the build, so the page and the PDF never change afterwards.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from engagements.models.core import Engagement, Phase
from engagements.models.records import Stakeholder


def pack_pdf_path(pack: ReviewPack, filename: str) -> str:
    # Never the engagement's name: file names must not carry a client's names.
    return f"review-packs/{pack.engagement.uuid}/{pack.uuid}.pdf"


class ReviewPack(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Building"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    job_kind: ClassVar[str] = "review_pack"
    task_name: ClassVar[str] = "engagements.build_review_pack"
    stale_after: ClassVar[timedelta] = timedelta(minutes=3)
    max_attempts: ClassVar[int] = 3

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="review_packs")
    phase = models.CharField(max_length=20, choices=Phase.choices, help_text="The gate: the phase it closes.")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    current_step = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    content = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="Every section as it stood when it was built."
    )
    pdf = models.FileField(upload_to=pack_pdf_path, blank=True)
    pdf_pages = models.PositiveIntegerField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the stakeholders were e-mailed.")

    class Meta:
        ordering = ["engagement", "phase", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "phase", "version"], name="review_pack_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} gate review pack v{self.version}"

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total) if self.total else (100 if self.status == "done" else 0)

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE


class GateReview(models.Model):
    """A client stakeholder's answer to a review pack: approve the gate, or ask for changes, with a comment."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES = "changes", "Changes requested"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    pack = models.ForeignKey(ReviewPack, on_delete=models.CASCADE, related_name="reviews")
    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.CASCADE, related_name="gate_reviews")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pack", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision="approved") | ~Q(comment=""),
                name="gate_review_changes_need_a_comment",
                violation_error_message="Say what should change: a request for changes needs a comment.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stakeholder}: {self.get_decision_display()} ({self.pack})"
