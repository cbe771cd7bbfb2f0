"""Feedback on answers, from FDEs and from the client portal, and the review that turns corrections into eval cases."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from rag.models import Answer, EvalCase, EvalDataset, Feedback
from rag.prototypes.datasets import eval_case_save

FEEDBACK_DATASET = "Client feedback"


@transaction.atomic
def feedback_create(*, answer: Answer, user: Any, rating: str, correction: str = "") -> Feedback:
    correction = correction.strip()
    if answer.status in {Answer.Status.PENDING, Answer.Status.RUNNING}:
        raise ValidationError("Wait for the answer to finish before rating it.")
    feedback = Feedback(answer=answer, author=user, rating=rating, correction=correction)
    feedback.full_clean()
    feedback.save()
    return feedback


@transaction.atomic
def feedback_accept(
    *,
    feedback: Feedback,
    reviewer: Any,
    dataset: EvalDataset | None = None,
    requirement: Any = None,
    fix_note: str = "",
) -> EvalCase:
    """Accept a correction: the question becomes an eval case whose reference answer is the correction."""
    if feedback.status != Feedback.Status.NEW:
        raise ValidationError("This feedback has already been reviewed.")
    if not feedback.correction:
        raise ValidationError("Only feedback with a correction can become an eval case; dismiss it instead.")
    answer = feedback.answer
    kb = answer.version.prototype.knowledge_base
    if dataset is None:
        dataset = EvalDataset.objects.filter(knowledge_base=kb, name=FEEDBACK_DATASET).first()
        if dataset is None:
            dataset = EvalDataset.objects.create(
                knowledge_base=kb, name=FEEDBACK_DATASET, description="Questions corrected by reviewers."
            )
    elif dataset.knowledge_base_id != kb.pk:
        raise ValidationError("Choose a dataset of the answer's own knowledge base.")
    case = eval_case_save(
        dataset=dataset,
        external_id=f"feedback-{feedback.uuid.hex[:12]}",
        question=answer.question,
        reference_answer=feedback.correction,
        relevant_documents=[c["external_id"] for c in answer.citations[:1]],
        tags=["feedback"],
        requirement=requirement,
        origin=EvalCase.Origin.FEEDBACK,
    )
    feedback.status, feedback.reviewed_by, feedback.reviewed_at = Feedback.Status.ACCEPTED, reviewer, timezone.now()
    feedback.eval_case = case
    feedback.fix_note = fix_note.strip()
    feedback.save()
    return case


@transaction.atomic
def feedback_dismiss(*, feedback: Feedback, reviewer: Any, fix_note: str = "") -> Feedback:
    if feedback.status != Feedback.Status.NEW:
        raise ValidationError("This feedback has already been reviewed.")
    feedback.status, feedback.reviewed_by, feedback.reviewed_at = Feedback.Status.DISMISSED, reviewer, timezone.now()
    feedback.fix_note = fix_note.strip()
    feedback.save()
    return feedback
