"""Prototypes over a knowledge base: versioned configurations, answers, eval datasets and runs, and feedback.

A ``PrototypeVersion`` is never changed once saved: editing a prototype saves the next version, and cloning one
starts a new prototype (variant B) from a version. Answers and eval results point at the exact version they came
from, so a number is always traceable to the configuration that produced it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

__all__ = [
    "Answer",
    "EvalCase",
    "EvalDataset",
    "EvalResult",
    "EvalRun",
    "Feedback",
    "Prototype",
    "PrototypeVersion",
    "RetrievalMode",
]


class RetrievalMode(models.TextChoices):
    HYBRID = "hybrid", "Hybrid (vector + keyword)"
    VECTOR = "vector", "Vector"
    KEYWORD = "keyword", "Keyword"


DEFAULT_SYSTEM_PROMPT = (
    "You answer questions about {kb_name} using only the numbered context passages. Cite the passages you use "
    "with their numbers in square brackets, like [1]. If the passages do not contain the answer, say so."
)
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
    vector_weight = models.FloatField(default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(10.0)])
    keyword_weight = models.FloatField(default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(10.0)])
    top_k = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1), MaxValueValidator(50)])
    rerank = models.BooleanField(default=False)
    system_prompt = models.TextField(default=DEFAULT_SYSTEM_PROMPT)
    user_prompt = models.TextField(default=DEFAULT_USER_PROMPT)
    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.PROTECT, related_name="+")
    temperature = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    max_tokens = models.PositiveIntegerField(default=256, validators=[MinValueValidator(16), MaxValueValidator(4096)])
    abstain_below = models.FloatField(
        "abstention threshold",
        default=0.3,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Below this retrieval confidence (best cosine similarity, 0-1) the prototype declines to answer.",
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.question[:80]


class EvalDataset(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    knowledge_base = models.ForeignKey("rag.KnowledgeBase", on_delete=models.CASCADE, related_name="eval_datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    regression_tolerance = models.FloatField(
        default=0.05,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A run whose metric falls more than this below the baseline run's is flagged.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["knowledge_base", "name"]
        constraints = [models.UniqueConstraint(fields=["knowledge_base", "name"], name="eval_dataset_unique_name")]

    def __str__(self) -> str:
        return self.name


class EvalCase(models.Model):
    class Origin(models.TextChoices):
        MANUAL = "manual", "Written by hand"
        IMPORTED = "imported", "Imported"
        GENERATED = "generated", "Drafted by the model"
        FEEDBACK = "feedback", "From feedback"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft, to review"
        READY = "ready", "Ready"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(EvalDataset, on_delete=models.CASCADE, related_name="cases")
    external_id = models.CharField(max_length=200, help_text="The case's id in the file it came from.")
    question = models.TextField()
    reference_answer = models.TextField(blank=True)
    relevant_documents = ArrayField(models.CharField(max_length=1000), default=list, blank=True)
    tags = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    unanswerable = models.BooleanField(
        default=False, help_text="The documents do not answer this question; the prototype should decline."
    )
    requirement = models.ForeignKey(
        "engagements.Requirement", null=True, blank=True, on_delete=models.SET_NULL, related_name="eval_cases"
    )
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.MANUAL)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READY)
    source_chunk = models.ForeignKey("rag.Chunk", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "external_id"]
        constraints = [models.UniqueConstraint(fields=["dataset", "external_id"], name="eval_case_unique_id")]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.question[:60]}"


class EvalRun(models.Model):
    """A job row: one prototype version scored on one dataset's ready cases."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dataset = models.ForeignKey(EvalDataset, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(PrototypeVersion, on_delete=models.PROTECT, related_name="eval_runs")
    k = models.PositiveSmallIntegerField(default=5, help_text="The cut-off for hit@k, recall@k and nDCG@k.")
    use_judge = models.BooleanField(default=True, help_text="Score faithfulness and relevance with the LLM judge.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="The run's aggregate metrics, by name.")
    judge_unparsed = models.PositiveIntegerField(default=0)
    is_baseline = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset"], condition=models.Q(is_baseline=True), name="eval_run_one_baseline_per_dataset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} on {self.dataset}"

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total) if self.total else (100 if self.status == "done" else 0)

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}


class EvalResult(models.Model):
    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="results")
    case = models.ForeignKey(EvalCase, on_delete=models.CASCADE, related_name="results")
    answer = models.TextField(blank=True)
    abstained = models.BooleanField(default=False)
    confidence = models.FloatField(null=True, blank=True)
    retrieved_documents = ArrayField(models.CharField(max_length=1000), default=list, blank=True)
    hit = models.FloatField(null=True, blank=True)
    recall = models.FloatField(null=True, blank=True)
    mrr = models.FloatField(null=True, blank=True)
    ndcg = models.FloatField(null=True, blank=True)
    exact_match = models.FloatField(null=True, blank=True)
    f1 = models.FloatField(null=True, blank=True)
    faithfulness = models.FloatField(null=True, blank=True)
    relevance = models.FloatField(null=True, blank=True)
    judge_parsed = models.BooleanField(null=True, blank=True, help_text="Empty when the case was not judged.")
    abstention_correct = models.BooleanField(null=True, blank=True)
    retrieval_ms = models.FloatField(null=True, blank=True)
    ttft_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "case"]
        constraints = [models.UniqueConstraint(fields=["run", "case"], name="eval_result_unique_case")]

    def __str__(self) -> str:
        return f"{self.run_id} · {self.case_id}"


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on {self.answer_id}"
