"""Client and FDE feedback on answers, and the eval case an accepted correction becomes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from rag.models.evaluation import EvalCase
from rag.models.prototypes import Answer


class Feedback(models.Model):
    class Rating(models.TextChoices):
        UP = "up", "Helpful"
        DOWN = "down", "Not helpful"

    class Status(models.TextChoices):
        NEW = "new", "To review"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    rating = models.CharField(max_length=4, choices=Rating.choices)
    correction = models.TextField(blank=True, help_text="What the answer should have said.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    eval_case = models.OneToOneField(
        EvalCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="from_feedback"
    )
    fix_note = models.TextField(
        "what we did", blank=True, help_text="Shown to the client beside their feedback: what changed because of it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on {self.answer_id}"
