from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client as HttpClient
from django.utils import timezone

from deployments.models import ModelCall
from engagements.metrics import get_provider
from engagements.models import Engagement
from jobs.services import sweep
from rag.models import EvalCase, EvalDataset, EvalResult, EvalRun, KnowledgeBase, Prototype
from rag.prototypes import evals
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.drafting import eval_cases_draft
from tests.fixtures_services import wait_for
from tests.rag.prototype_builders import index, local_deployment, make_prototype

pytestmark = pytest.mark.vllm

CASES: list[dict[str, Any]] = [
    {
        "id": "deadline",
        "question": "Within how many days must damaged freight claims be filed?",
        "reference_answer": "Within 14 days of delivery.",
        "relevant_documents": ["handbook/claims.pdf"],
    },
    {
        "id": "pallet",
        "question": "What does a standard pallet cost within the EU?",
        "reference_answer": "42 EUR per pallet.",
        "relevant_documents": ["rates.md"],
    },
    {"id": "football", "question": "Who won the football world cup in 1954?", "unanswerable": True},
]


@pytest.fixture
def setup(kb: KnowledgeBase, vllm_server: dict[str, str]) -> tuple[Prototype, EvalDataset]:
    prototype = make_prototype(index(kb), local_deployment(vllm_server), abstain_below=0.3)
    dataset = eval_dataset_create(knowledge_base=kb, name="Smoke")
    for case in CASES:
        eval_case_save(
            dataset=dataset,
            external_id=case["id"],
            question=case["question"],
            reference_answer=case.get("reference_answer", ""),
            relevant_documents=case.get("relevant_documents", []),
            unanswerable=case.get("unanswerable", False),
        )
    return prototype, dataset


def test_an_eval_run_on_a_real_worker_scores_every_case(
    celery_worker: Any, setup: tuple[Prototype, EvalDataset], fde: Any
) -> None:
    prototype, dataset = setup
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, user=fde, k=3)

    run = wait_for(
        lambda: EvalRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
        timeout=600,  # the judge is checked on planted errors first: about ten more calls
        message="the eval run to finish",
    )

    assert run.status == EvalRun.Status.SUCCEEDED, run.last_error
    assert (run.progress, run.total) == (3, 3)
    results = {r.case.external_id: r for r in EvalResult.objects.filter(run=run).select_related("case")}
    assert set(results) == {"deadline", "pallet", "football"}
    assert results["deadline"].hit == 1.0 and results["pallet"].hit == 1.0
    assert results["deadline"].retrieved_documents[0] in {"handbook/claims.pdf", "rates.md", "privacy.md"}
    assert results["football"].abstained and results["football"].abstention_correct
    assert run.metrics["hit"] == 1.0 and run.metrics["hit_n"] == 2
    assert run.metrics["abstention"] == 1.0 and run.metrics["abstention_n"] == 1
    assert 0.0 <= run.metrics["f1"] <= 1.0 and run.metrics["f1_n"] == 2
    answered = [r for r in results.values() if not r.abstained]
    assert all(r.judge_parsed is not None for r in answered)
    parsed = [r for r in answered if r.judge_parsed]
    assert run.judge_unparsed == len(answered) - len(parsed)
    assert all(0.0 <= (r.faithfulness or 0) <= 1.0 for r in parsed)
    assert all(r.total_ms and r.prompt_tokens for r in answered)
    assert ModelCall.objects.filter(caller="rag.eval").count() == 2
    assert ModelCall.objects.filter(caller="rag.judge").count() == len(answered)
    assert ModelCall.objects.filter(caller="rag.judge_check").count() == len(run.judge_check["probes"]) >= 8
    for key in ("faithfulness", "relevance"):  # whatever the small model's verdicts, they are measured and stated
        assert run.metrics[f"{key}_reliable"] == run.judge_check["metrics"][key]["reliable"]
        assert run.metrics[f"{key}_reliable"] or run.metrics[f"{key}_unreliable_reason"]
    assert all(r.trace["prompt"] and r.trace["passages"] for r in answered)


def test_a_rerun_resumes_without_scoring_cases_twice(setup: tuple[Prototype, EvalDataset]) -> None:
    prototype, dataset = setup
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, use_judge=False, enqueue=False)
    evals.eval_case_score(run=run, case=dataset.cases.get(external_id="football"))

    evals.eval_run_execute(run_id=run.pk)

    assert EvalResult.objects.filter(run=run).count() == 3
    assert ModelCall.objects.filter(caller="rag.eval").count() == 2  # the abstained case never called the model
    assert evals.eval_run_execute(run_id=run.pk) is None  # a redelivered task leaves a finished run alone


def test_the_gate_provider_reports_the_latest_metric(
    setup: tuple[Prototype, EvalDataset], engagement: Engagement
) -> None:
    prototype, dataset = setup
    queued = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, use_judge=False, enqueue=False)
    run = evals.eval_run_execute(run_id=queued.pk)
    assert run is not None
    provider = get_provider("rag.eval_metric")
    assert provider is not None

    result = provider.compute(engagement, {"prototype": str(prototype.uuid), "metric": "hit"})

    assert result.value == run.metrics["hit"] == 1.0
    assert str(run.uuid) in result.source_url
    assert provider.compute(engagement, {"metric": "nonsense"}).value is None


def test_rag_eval_command_prints_metrics_writes_json_and_fails_under_threshold(
    setup: tuple[Prototype, EvalDataset], tmp_path: Path, capsys: Any
) -> None:
    prototype, _ = setup
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c) for c in CASES[:2]) + "\n")
    out = tmp_path / "out.json"

    call_command(
        "rag_eval",
        "--prototype",
        str(prototype.uuid),
        "--dataset",
        str(cases),
        "--json",
        str(out),
        "--no-judge",
        "--min",
        "hit=0.5",
    )

    printed = capsys.readouterr().out
    assert "hit@k" in printed and "1.000" in printed and "ok" in printed
    report = json.loads(out.read_text())
    assert report["metrics"]["hit"] == 1.0 and report["metrics"]["cases"] == 2
    with pytest.raises(CommandError, match="Below the threshold: exact_match") as caught:
        call_command(
            "rag_eval",
            "--prototype",
            str(prototype.uuid),
            "--dataset",
            str(cases),
            "--no-judge",
            "--min",
            "exact_match=1.01",
        )
    assert caught.value.returncode == 1
    assert EvalDataset.objects.get(name="CI: cases.jsonl").cases.count() == 2


def test_outsiders_and_client_users_cannot_see_runs(
    setup: tuple[Prototype, EvalDataset], member_http: HttpClient, outsider_http: HttpClient, fde_http: HttpClient
) -> None:
    prototype, dataset = setup
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, enqueue=False)
    assert fde_http.get(f"/rag/eval/runs/{run.uuid}/").status_code == 200
    assert fde_http.get(f"/rag/eval/datasets/{dataset.uuid}/").status_code == 200
    for http in (member_http, outsider_http):
        assert http.get(f"/rag/eval/runs/{run.uuid}/").status_code == 404
        assert http.get(f"/rag/eval/datasets/{dataset.uuid}/").status_code == 404
        assert http.post(f"/rag/eval/datasets/{dataset.uuid}/runs/", {"prototype": prototype.pk}).status_code == 404


def test_a_run_whose_worker_died_is_reclaimed_and_finished(
    celery_worker: Any, setup: tuple[Prototype, EvalDataset]
) -> None:
    prototype, dataset = setup
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, use_judge=False, enqueue=False)
    evals.eval_case_score(run=run, case=dataset.cases.get(external_id="football"))
    # As a worker killed mid-run leaves it: running, one case scored, no heartbeat for a while.
    stale = timezone.now() - timedelta(minutes=10)
    EvalRun.objects.filter(pk=run.pk).update(status=EvalRun.Status.RUNNING, progress=1, heartbeat_at=stale)

    assert sweep()["eval-run"] == [run.pk]
    run = wait_for(
        lambda: EvalRun.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
        timeout=180,
        message="the reclaimed run to finish",
    )

    assert run.status == EvalRun.Status.SUCCEEDED and run.attempts == 1
    assert EvalResult.objects.filter(run=run).count() == 3
    assert ModelCall.objects.filter(caller="rag.eval").count() == 2  # nothing scored twice


def test_the_model_drafts_cases_that_wait_for_review(setup: tuple[Prototype, EvalDataset]) -> None:
    prototype, dataset = setup

    drafts = eval_cases_draft(dataset=dataset, version=prototype.versions.get(), count=2)

    calls = ModelCall.objects.filter(caller="rag.draft")
    assert calls.count() == 2
    assert len(drafts) <= 2  # a reply that is not valid JSON is skipped, never guessed at
    for case in drafts:
        assert case.status == EvalCase.Status.DRAFT and case.origin == EvalCase.Origin.GENERATED
        assert case.source_chunk is not None
        assert case.relevant_documents == [case.source_chunk.document.external_id]
        assert case.question
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, enqueue=False)
    assert run.total == 3  # drafts are not run until approved


def test_drafting_from_the_page_goes_one_case_per_request_with_progress(
    fde_http: HttpClient, setup: tuple[Prototype, EvalDataset]
) -> None:
    prototype, dataset = setup
    url = f"/rag/eval/datasets/{dataset.uuid}/draft/"
    form = {"prototype": prototype.pk, "count": 2}

    first = fde_http.post(url, {**form, "done": 0}, headers={"HX-Request": "true"}).content.decode()
    second = fde_http.post(url, {**form, "done": 1}, headers={"HX-Request": "true"}).content.decode()

    assert 'hx-trigger="load"' in first and "1 of 2" in first
    assert 'hx-trigger="load"' not in second and "2 of 2" in second and "Review the drafts" in second
    assert ModelCall.objects.filter(caller="rag.draft").count() == 2
    sources = list(dataset.cases.exclude(source_chunk=None).values_list("source_chunk", flat=True))
    assert len(sources) == len(set(sources))  # never the same passage twice
