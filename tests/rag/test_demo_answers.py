from __future__ import annotations

from typing import Any

import pytest

from engagements.models import Engagement
from rag import seed as kb_seed
from rag.evaluation.metrics import facts_found
from rag.models import Answer, EvalCase
from rag.prototypes import seed as prototype_seed
from rag.prototypes.pipeline import run_to_end
from tests.rag.prototype_builders import local_deployment

pytestmark = pytest.mark.vllm


def test_the_local_model_answers_the_demo_questions_from_the_seeded_documents(
    engagement: Engagement, fde: Any, vllm_server: dict[str, str]
) -> None:
    data: dict[str, Any] = {"demo_engagement": engagement, "lead": fde, "local_vllm": local_deployment(vllm_server)}
    data |= kb_seed.seed(data)
    data |= prototype_seed.seed(data)
    version = data["demo_prototype"].versions.order_by("-number").first()
    cases = EvalCase.objects.filter(dataset=data["demo_dataset"], unanswerable=False).exclude(reference_answer="")
    assert cases.count() == len(prototype_seed.CURATED)

    misses = []
    for case in cases:
        outcome = run_to_end(version=version, question=case.question, caller="rag.demo-check")
        assert not outcome.error, outcome.error_detail
        assert not outcome.abstained, f"{case.question} was declined (answerability {outcome.confidence:.3f})"
        if outcome.looped or facts_found(outcome.text, case.reference_answer) != 1.0:
            misses.append((case.question, case.reference_answer, outcome.text))
    # The 135M model at temperature 0 still changes some answers from one server to the next (its prefix cache and
    # batching change the arithmetic, and near-ties flip): one question of the four may miss, never more.
    assert len(misses) <= 1, "\n".join(f"{q} -> expected {r!r}, got {a!r}" for q, r, a in misses)
    for case in EvalCase.objects.filter(dataset=data["demo_dataset"], unanswerable=True):
        outcome = run_to_end(version=version, question=case.question, caller="rag.demo-check")
        assert outcome.abstained, f"{case.question} was answered (answerability {outcome.confidence:.3f})"
    assert Answer.objects.count() == 0  # a check, not answers anyone asked
