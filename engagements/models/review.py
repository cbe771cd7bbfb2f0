"""Gate review packs: a versioned document (page and PDF) of a gate's evidence, and the stakeholders' answers to it.

A pack is a job (``jobs.models.Job``) while it is built and a frozen version once it has succeeded: ``content``
keeps every section as it stood at the build, so the page and the PDF never change afterwards.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse

from engagements.models.core import Engagement, Phase
from engagements.models.records import Stakeholder
from jobs.models import Job, JobStatus
from jobs.registry import register


def pack_pdf_path(pack: ReviewPack, filename: str) -> str:
    # Never the engagement's name: file names must not carry a client's names.
    return f"review-packs/{pack.engagement.uuid}/{pack.uuid}.pdf"


@register
class ReviewPack(Job):
    """One version of a gate's review pack: a job while it is built, then the frozen sections and their PDF."""

    job_kind = "review-pack"
    task_name = "engagements.build_review_pack"
    stale_after = timedelta(minutes=3)  # the longest step is Chromium printing, bounded by REVIEW_PACK_PRINT_TIMEOUT
    max_attempts = 3
    unit = "steps"
    reload_on_finish = True  # the finished pack's links (page, PDF) come with the page

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="review_packs")
    phase = models.CharField(max_length=20, choices=Phase.choices, help_text="The gate: the phase it closes.")
    version = models.PositiveIntegerField()
    content = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, help_text="Every section as it stood when it was built."
    )
    pdf = models.FileField(upload_to=pack_pdf_path, blank=True)
    pdf_pages = models.PositiveIntegerField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the stakeholders were e-mailed.")

    class Meta(Job.Meta):
        verbose_name = "review pack"
        ordering = ["engagement", "phase", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "phase", "version"], name="review_pack_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} gate review pack v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse("engagements:review_pack", kwargs={"uuid": self.engagement.uuid, "item": self.uuid})

    @property
    def is_done(self) -> bool:
        return self.status == JobStatus.SUCCEEDED


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
