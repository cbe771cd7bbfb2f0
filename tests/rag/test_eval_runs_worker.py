from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from deployments.models import ModelCall
from jobs import services
from jobs.models import JobStatus
from rag.models import EvalDataset, EvalResult, EvalRun, KnowledgeBase, Prototype
from rag.prototypes import evals
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from tests.fixtures_services import wait_for
from tests.rag.prototype_builders import index, local_deployment, make_prototype

pytestmark = [pytest.mark.vllm, pytest.mark.celery_worker]

CASES = 10
TOPICS = ["damaged freight claims", "pallet rates", "hazardous surcharges", "address deletion", "the claims desk"]


@pytest.fixture
def setup(kb: KnowledgeBase, vllm_server: dict[str, str]) -> tuple[Prototype, EvalDataset]:
    # Never abstaining, so every case asks the model and the run takes a while.
    prototype = make_prototype(index(kb), local_deployment(vllm_server), abstain_below=0.0, max_tokens=24)
    dataset = eval_dataset_create(knowledge_base=kb, name="Long")
    for n in range(CASES):
        eval_case_save(
            dataset=dataset,
            external_id=f"q{n:02}",
            question=f"Question {n}: what does the handbook say about {TOPICS[n % len(TOPICS)]}?",
            relevant_documents=["rates.md"],
        )
    return prototype, dataset


def _start(setup: tuple[Prototype, EvalDataset]) -> EvalRun:
    prototype, dataset = setup
    return evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, use_judge=False)


def _scored(run: EvalRun) -> dict[int, tuple[int, Any]]:
    return {r.case_id: (r.pk, r.created_at) for r in EvalResult.objects.filter(run=run)}


def test_a_killed_worker_mid_run_resumes_and_scores_every_case_exactly_once(
    celery_worker: Any, setup: tuple[Prototype, EvalDataset]
) -> None:
    run = _start(setup)
    wait_for(lambda: EvalResult.objects.filter(run=run).count() >= 2, timeout=180, interval=0.05, message="2 cases")
    celery_worker.kill()
    before = _scored(run)
    assert EvalRun.objects.get(pk=run.pk).status == JobStatus.RUNNING and len(before) < CASES

    assert services.sweep(older_than=timedelta(0))["eval-run"] == [run.pk]
    celery_worker.start()
    run = wait_for(
        lambda: EvalRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
        timeout=300,
        message="the resumed run to finish",
    )

    assert run.status == JobStatus.SUCCEEDED, run.last_error
    assert (run.progress, run.total, run.attempts, run.metrics["cases"]) == (CASES, CASES, 2, CASES)
    after = _scored(run)
    assert len(after) == CASES == len(set(after)) and set(after) == set(run.dataset.cases.values_list("pk", flat=True))
    assert {case: after[case] for case in before} == before  # what was scored before the kill was not scored again
    # At most the one case in flight when the worker died asked the model twice.
    assert CASES <= ModelCall.objects.filter(caller="rag.eval").count() <= CASES + 1


def test_cancelling_a_running_eval_keeps_the_cases_already_scored(
    celery_worker: Any, setup: tuple[Prototype, EvalDataset]
) -> None:
    run = _start(setup)
    wait_for(lambda: EvalResult.objects.filter(run=run).exists(), timeout=180, interval=0.05, message="a case")

    services.request_cancel(EvalRun.objects.get(pk=run.pk))
    run = wait_for(
        lambda: EvalRun.objects.filter(pk=run.pk, status__in=["cancelled", "succeeded", "failed"]).first(),
        timeout=180,
        message="the run to stop",
    )

    scored = EvalResult.objects.filter(run=run).count()
    assert run.status == JobStatus.CANCELLED and 0 < scored < CASES
    assert run.progress == scored == run.metrics["cases"] and run.finished_at
