from __future__ import annotations

from typing import Any

import pytest

from deployments.services import deployment_save
from engagements.metrics import get_provider
from engagements.models import Engagement
from jobs import services as jobs
from rag.evaluation.judge import Judgement, Verdict
from rag.evaluation.judge_check import CheckCase, judge_check, negate, probes, separation, swap_numbers
from rag.models import EvalDataset, EvalResult, EvalRun, KnowledgeBase
from rag.prototypes import evals
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.judging import eval_run_check_judge
from tests.rag.judge_server import judge_server
from tests.rag.prototype_builders import index, make_prototype

CASES = [
    ("deadline", "Within how many days must damaged freight claims be filed?", "Within 14 days of delivery."),
    ("pallet", "What does a standard pallet cost within the EU?", "42 EUR per pallet."),
]


def test_planted_errors_change_the_numbers_and_the_sense() -> None:
    assert swap_numbers("Claims up to 2,500 EUR within 14 days.") == "Claims up to 7507 EUR within 49 days."
    assert swap_numbers("No numbers here.") is None
    assert negate("Agents must approve it.") == "Agents must not approve it."
    assert negate("Agents may not approve it.") == "Agents may approve it."
    assert negate("Within 14 days.") == "It is not the case that within 14 days."


def test_probes_cover_every_kind_and_leave_out_what_cannot_be_made() -> None:
    cases = [CheckCase("a", "Q1?", "Within 14 days.", "ctx one"), CheckCase("b", "Q2?", "A form.", "ctx two")]
    kinds = {(p.case, p.kind) for p in probes(cases)}
    assert ("a", "swapped_numbers") in kinds and ("b", "swapped_numbers") not in kinds  # b has no number
    every = {"reference", "swapped_numbers", "negation", "unrelated", "copied_context"}
    assert {k for c, k in kinds if c == "a"} == every


def test_separation_is_the_chance_a_reference_outscores_a_planted_error() -> None:
    graded: list[dict[str, Any]] = [
        {"kind": "reference", "faithfulness": 1.0},
        {"kind": "reference", "faithfulness": 0.5},
        {"kind": "negation", "faithfulness": 0.5},
        {"kind": "swapped_numbers", "faithfulness": 0.0},
        {"kind": "unrelated", "faithfulness": None},
    ]
    result = separation(graded, "faithfulness")
    # pairs (good, bad): (1, .5) win, (1, 0) win, (.5, .5) tie, (.5, 0) win -> 3.5 / 4
    assert result["auroc"] == pytest.approx(0.875)
    assert result["gap"] == pytest.approx(0.75 - 0.25)
    assert result["unread"] == 1 and result["good"] == 2 and result["bad"] == 2
    assert result["reliable"] is True


def test_a_judge_that_grades_everything_alike_is_unreliable_without_a_server() -> None:
    cases = [CheckCase(k, q, r, f"[1] doc\n{r} More context here.") for k, q, r in CASES]
    check = judge_check(
        cases=cases, grade=lambda probe: Verdict(Judgement(1.0, 1.0, "fine"), "{}"), judge_name="always five"
    )
    assert check["passed"] is False
    assert check["metrics"]["faithfulness"]["auroc"] == pytest.approx(0.5)
    assert "too close" in check["metrics"]["faithfulness"]["reason"]


@pytest.fixture
def dataset(kb: KnowledgeBase) -> EvalDataset:
    index(kb)
    dataset = eval_dataset_create(knowledge_base=kb, name="Judge check")
    for key, question, reference in CASES:
        eval_case_save(dataset=dataset, external_id=key, question=question, reference_answer=reference)
    eval_case_save(dataset=dataset, external_id="football", question="Who won in 1954?", unanswerable=True)
    return dataset


def _checked_run(dataset: EvalDataset, mode: str) -> EvalRun:
    with judge_server(mode) as base_url:
        judge = deployment_save(name=f"Judge ({mode})", base_url=base_url, served_model_name="judge")
        prototype = make_prototype(dataset.knowledge_base, judge)
        run = evals.eval_run_create(
            version=prototype.versions.get(), dataset=dataset, judge_deployment=judge, enqueue=False
        )
        eval_run_check_judge(run=run)
    for case in dataset.cases.filter(unanswerable=False):
        EvalResult.objects.create(run=run, case=case, answer="x", faithfulness=1.0, relevance=1.0, judge_parsed=True)
    jobs.claim(EvalRun, run.pk)
    return evals.eval_run_finish(run_id=run.pk)


def test_a_judge_that_cannot_separate_marks_its_metrics_unreliable_and_the_gate_says_why(
    dataset: EvalDataset, engagement: Engagement
) -> None:
    run = _checked_run(dataset, "constant")

    assert run.judge_check["passed"] is False
    assert run.metrics["faithfulness"] == 1.0 and run.metrics["faithfulness_reliable"] is False
    assert run.metrics["faithfulness_separation_auroc"] == pytest.approx(0.5)
    provider = get_provider("rag.eval_metric")
    assert provider is not None
    result = provider.compute(engagement, {"metric": "faithfulness"})
    assert result.value is None
    assert "unreliable" in result.detail and "Judge (constant)" in result.detail
    assert provider.compute(engagement, {"metric": "hit"}).detail  # metrics not judged are untouched


def test_a_judge_that_separates_counts_and_its_separation_is_recorded(
    dataset: EvalDataset, engagement: Engagement, fde_http: Any
) -> None:
    run = _checked_run(dataset, "rules")

    assert run.judge_check["passed"] is True, run.judge_check["metrics"]
    kinds = {p["kind"] for p in run.judge_check["probes"]}
    assert kinds == {"reference", "swapped_numbers", "negation", "unrelated", "copied_context"}
    assert all(p["rationale"] for p in run.judge_check["probes"])
    assert run.metrics["relevance_reliable"] is True and run.metrics["relevance_separation_auroc"] >= 0.8
    provider = get_provider("rag.eval_metric")
    assert provider is not None
    assert provider.compute(engagement, {"metric": "faithfulness"}).value == 1.0

    page = fde_http.get(f"/rag/eval/runs/{run.uuid}/").content.decode()
    assert 'data-metric="faithfulness" data-reliable="true"' in page
    assert "judge separation AUROC" in page
