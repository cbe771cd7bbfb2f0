"""Prototypes over a knowledge base: versioned configurations and the answers they give.

A ``PrototypeVersion`` is never changed once saved: editing a prototype saves the next version, and cloning one
starts a new prototype (variant B) from a version. Answers and eval results point at the exact version they came
from, so a number is always traceable to the configuration that produced it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class RetrievalMode(models.TextChoices):
    HYBRID = "hybrid", "Hybrid (vector + keyword)"
    VECTOR = "vector", "Vector"
    KEYWORD = "keyword", "Keyword"


DEFAULT_SYSTEM_PROMPT = (
    "You answer questions about {kb_name} using only the numbered context passages. Cite the passages you use "
    "with their numbers in square brackets, like [1]. If the passages do not contain the answer, say so."
)
# rag.abstention.DEFAULT_THRESHOLD, repeated so the models do not import the retrieval code.
DEFAULT_ABSTAIN_BELOW = 0.085
DEFAULT_USER_PROMPT = "Context:\n{context}\n\nQuestion: {question}"


class Prototype(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    knowledge_base = models.ForeignKey("rag.KnowledgeBase", on_delete=models.CASCADE, related_name="prototypes")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    cloned_from = models.ForeignKey(
        "rag.PrototypeVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="clones"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["knowledge_base", "name"]
        constraints = [models.UniqueConstraint(fields=["knowledge_base", "name"], name="prototype_unique_name_per_kb")]

    def __str__(self) -> str:
        return self.name


class PrototypeVersion(models.Model):
    """An immutable snapshot of a prototype's configuration."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prototype = models.ForeignKey(Prototype, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=300, blank=True, help_text="What changed, in a few words.")
    embedding_model = models.ForeignKey("rag.EmbeddingModel", on_delete=models.PROTECT, related_name="+")
    retrieval_mode = models.CharField(max_length=10, choices=RetrievalMode.choices, default=RetrievalMode.HYBRID)
    vector_weight = models.FloatField(
        default=0.75,
        validators=[MinValueValidator(0.0), MaxValueValidator(10.0)],
        help_text="Share of the fused score from meaning (vector search); the two weights are scaled to sum to 1.",
    )
    keyword_weight = models.FloatField(
        default=0.25,
        validators=[MinValueValidator(0.0), MaxValueValidator(10.0)],
        help_text="Share of the fused score from BM25 keyword ranking.",
    )
    top_k = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1), MaxValueValidator(50)])
    rerank = models.BooleanField(default=False)
    system_prompt = models.TextField(default=DEFAULT_SYSTEM_PROMPT)
    user_prompt = models.TextField(default=DEFAULT_USER_PROMPT)
    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.PROTECT, related_name="+")
    temperature = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    max_tokens = models.PositiveIntegerField(default=256, validators=[MinValueValidator(16), MaxValueValidator(4096)])
    abstain_below = models.FloatField(
        "abstention threshold",
        default=DEFAULT_ABSTAIN_BELOW,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Below this answerability (how far the best passage stands out from the rest) the prototype "
        "declines to answer; 0 never declines. Calibrate it from an eval run with unanswerable cases.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prototype", "-number"]
        constraints = [models.UniqueConstraint(fields=["prototype", "number"], name="prototype_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.prototype} v{self.number}"


class Conversation(models.Model):
    """One person's questions to one prototype in a row: a follow-up is read in the light of the turns before it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    prototype = models.ForeignKey(Prototype, on_delete=models.CASCADE, related_name="conversations")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="When its last turn was asked.")

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        first = self.turns.order_by("created_at").first()  # type: ignore[attr-defined]
        return first.question[:80] if first else f"Conversation {self.uuid.hex[:8]}"


class Answer(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Generating"
        DONE = "done", "Answered"
        ABSTAINED = "abstained", "Declined: the documents do not answer it"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(PrototypeVersion, on_delete=models.PROTECT, related_name="answers")
    question = models.TextField()
    text = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    error_detail = models.TextField(blank=True, help_text="The full reason, for provider staff: may name hosts.")
    confidence = models.FloatField(null=True, blank=True)
    citations = models.JSONField(default=list, blank=True, help_text="The numbered passages given to the model.")
    chunks_truncated = models.PositiveSmallIntegerField(default=0, help_text="Passages cut to fit the context.")
    embed_ms = models.FloatField(null=True, blank=True)
    retrieval_ms = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    model_call = models.ForeignKey(
        "deployments.ModelCall", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="turns"
    )
    search_query = models.TextField(
        blank=True, help_text="What was searched: a follow-up rewritten with the conversation so far to stand alone."
    )
    search_note = models.CharField(max_length=300, blank=True, help_text="Why the search differs from the rewrite.")
    rewrite_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.question[:80]

    @property
    def rewritten(self) -> bool:
        """A follow-up whose search differs from its words, read with the turns before it."""
        return bool(self.search_query) and self.search_query != self.question

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The passages the answer cites, each once; answers recorded before citations were read list every one."""
        return [c for c in self.citations if c.get("cited", True) or c.get("matched")]

    @property
    def citations_matched(self) -> bool:
        """The model wrote no markers, so the product matched sentences to the passages that hold them."""
        return any(c.get("matched") for c in self.citations) and not any(c.get("cited", True) for c in self.citations)

    @property
    def cites_nothing(self) -> bool:
        """A written answer whose claims name none of the passages it was given: the reader must check it."""
        return self.status == self.Status.DONE and bool(self.text.strip()) and bool(self.citations) and not self.sources

    @property
    def invented_citations(self) -> list[int]:
        """Marker numbers in the answer that name no passage the model was given."""
        from rag.prototypes.citing import read_citations

        return read_citations(self.text, passages=len(self.citations)).unknown
