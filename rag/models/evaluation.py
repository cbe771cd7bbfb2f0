"""Evaluation datasets, their cases, and the runs that score a prototype version on them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from jobs.models import Job
from jobs.registry import register
from rag.models.prototypes import PrototypeVersion


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
        CONVERSATION = "conversation", "From a conversation"

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


@register
class EvalRun(Job):
    """A job row: one prototype version scored on one dataset's ready cases."""

    job_kind = "eval-run"
    task_name = "rag.eval_run"
    # One case is at most an answer and a judgement, each bounded by MODEL_CALL_DEADLINE (120 s by default).
    stale_after = timedelta(minutes=5)
    max_attempts = 3
    unit = "cases"
    reload_on_finish = True  # the finished run's page carries the results
    list_related = ("version__prototype", "dataset")

    dataset = models.ForeignKey(EvalDataset, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(PrototypeVersion, on_delete=models.PROTECT, related_name="eval_runs")
    k = models.PositiveSmallIntegerField(default=5, help_text="The cut-off for hit@k, recall@k and nDCG@k.")
    use_judge = models.BooleanField(default=True, help_text="Score faithfulness and relevance with the LLM judge.")
    judge_deployment = models.ForeignKey(
        "deployments.Deployment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The deployment that judges; empty means the prototype's own model.",
    )
    judge_check = models.JSONField(
        default=dict, blank=True, help_text="The judge's grades of planted errors and references, per metric."
    )
    metrics = models.JSONField(default=dict, blank=True, help_text="The run's aggregate metrics, by name.")
    judge_unparsed = models.PositiveIntegerField(default=0)
    is_baseline = models.BooleanField(default=False)

    class Meta(Job.Meta):
        verbose_name = "eval run"
        constraints = [
            models.UniqueConstraint(
                fields=["dataset"], condition=models.Q(is_baseline=True), name="eval_run_one_baseline_per_dataset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} on {self.dataset}"

    def get_absolute_url(self) -> str:
        return reverse("rag:eval-run", args=[self.uuid])


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
    judge_rationale = models.TextField(blank=True, help_text="The judge's reasons, or its unreadable reply.")
    trace = models.JSONField(default=dict, blank=True, help_text="The prompt and passages the answer came from.")
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
