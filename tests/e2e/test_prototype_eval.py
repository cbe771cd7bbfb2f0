from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engagements.models import Engagement
from rag.models import EvalDataset, EvalRun, Prototype
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.services.knowledge_base import knowledge_base_create
from tests.conftest import PASSWORD
from tests.fixtures_services import login
from tests.rag.prototype_builders import index, local_deployment, make_prototype

pytestmark = [pytest.mark.e2e, pytest.mark.vllm, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(
    engagement: Engagement, fde: Any, vllm_server: dict[str, str], settings: Any, tmp_path: Path
) -> tuple[Prototype, EvalDataset]:
    settings.MEDIA_ROOT = tmp_path / "media"
    kb = knowledge_base_create(engagement=engagement, name="Policies", actor=fde, chunk_size=300, chunk_overlap=40)
    prototype = make_prototype(index(kb), local_deployment(vllm_server), max_tokens=32)
    dataset = eval_dataset_create(knowledge_base=kb, name="Smoke")
    eval_case_save(
        dataset=dataset,
        external_id="pallet",
        question="What does a standard pallet cost within the EU?",
        reference_answer="42 EUR per pallet.",
        relevant_documents=["rates.md"],
    )
    eval_case_save(dataset=dataset, external_id="football", question="Who won the 1954 world cup?", unanswerable=True)
    return prototype, dataset


def test_an_fde_starts_an_eval_run_and_watches_it_finish(
    page: Any, fde: Any, celery_worker: Any, setup: tuple[Prototype, EvalDataset]
) -> None:
    prototype, dataset = setup
    login(page, fde.email, PASSWORD)
    page.goto(f"/rag/eval/datasets/{dataset.uuid}/")
    page.select_option("select[name=prototype] >> nth=0", str(prototype.pk))
    page.uncheck("input[name=use_judge]")
    page.click("text=Start run")

    page.wait_for_selector("#run-progress [data-job-status]", state="attached")
    page.wait_for_selector("#run-progress [data-job-status=succeeded]", state="attached", timeout=120_000)
    page.wait_for_selector("#results td:has-text('pallet')", state="attached")  # the finished page, reloaded once

    run = EvalRun.objects.get()
    assert run.status == EvalRun.Status.SUCCEEDED
    assert "100%" in page.inner_text("#run-progress")
    assert "hit@k" in page.inner_text("main").lower()
    assert page.locator("#results tr:has-text('football') .badge:has-text('declined')").count() == 1
