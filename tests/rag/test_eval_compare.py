from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from deployments.services import deployment_save
from rag.models import EvalDataset, EvalResult, EvalRun, KnowledgeBase, Prototype
from rag.prototypes import evals
from rag.prototypes.comparison import compare_context
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.services import prototype_clone
from tests.rag.prototype_builders import make_prototype

# Per case: (hit, f1) for run A and run B. Hand-computed means: hit A 2/4, B 4/4; f1 A 0.4, B 0.3.
SCORES = {
    "c1": ((0, 0.2), (1, 0.2)),
    "c2": ((1, 1.0), (1, 0.0)),
    "c3": ((0, 0.0), (1, 0.6)),
    "c4": ((1, 0.4), (1, 0.4)),
}


@pytest.fixture
def runs(kb: KnowledgeBase) -> tuple[EvalRun, EvalRun]:
    deployment = deployment_save(name="Any model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    prototype: Prototype = make_prototype(kb, deployment)
    variant = prototype_clone(version=prototype.versions.get(), name="Variant B", top_k=8)
    dataset: EvalDataset = eval_dataset_create(knowledge_base=kb, name="Scored")
    cases = {
        key: eval_case_save(
            dataset=dataset, external_id=key, question=f"{key}?", reference_answer="r", relevant_documents=["d"]
        )
        for key in SCORES
    }
    made = []
    for i, proto in enumerate((prototype, variant)):
        run = evals.eval_run_create(version=proto.versions.get(), dataset=dataset, use_judge=False, enqueue=False)
        for key, scores in SCORES.items():
            hit, f1 = scores[i]
            EvalResult.objects.create(run=run, case=cases[key], hit=hit, f1=f1, answer=f"answer {i}", total_ms=100 + i)
        made.append(evals.eval_run_finish(run_id=run.pk))
    return made[0], made[1]


def test_run_metrics_are_the_means_of_the_cases(runs: tuple[EvalRun, EvalRun]) -> None:
    a, b = runs
    assert a.metrics["hit"] == pytest.approx(0.5) and b.metrics["hit"] == pytest.approx(1.0)
    assert a.metrics["f1"] == pytest.approx(0.4) and b.metrics["f1"] == pytest.approx(0.3)
    assert a.metrics["hit_n"] == 4 and a.metrics["cases"] == 4


def test_comparison_reports_deltas_with_intervals_and_per_case_changes(runs: tuple[EvalRun, EvalRun]) -> None:
    a, b = runs
    context = compare_context(runs=[b, a])

    assert context["runs"] == [a, b]  # oldest first when neither is the baseline
    rows = {row.key: row for row in context["rows"]}
    hit = rows["hit"].deltas[1]
    assert hit is not None and hit.delta == pytest.approx(0.5) and hit.low <= 0.5 <= hit.high
    f1 = rows["f1"].deltas[1]
    assert f1 is not None and f1.delta == pytest.approx(-0.1) and f1.low < 0 < f1.high and not f1.significant
    verdicts = {row["case"].external_id: row["verdict"] for row in context["cases"]}
    assert verdicts == {"c1": "same", "c2": "worse", "c3": "better", "c4": "same"}
    assert context["cases"][0]["case"].external_id == "c2"  # regressions first
    assert '"type":"bar"' in context["quality_chart"].replace(" ", "")


def test_a_run_below_the_baseline_is_flagged(runs: tuple[EvalRun, EvalRun], fde_http: HttpClient) -> None:
    a, b = runs
    evals.eval_run_mark_baseline(run=b)

    flags = evals.eval_run_regressions(run=a, baseline=b)

    assert [f["key"] for f in flags] == ["hit"]  # A's f1 is above B's; the other metrics were not scored
    assert flags[0]["drop"] == pytest.approx(0.5)
    html = fde_http.get(f"/rag/eval/runs/{a.uuid}/").content.decode()
    assert "Below the baseline" in html and "hit@k" in html
    listing = fde_http.get(f"/rag/eval/datasets/{a.dataset.uuid}/").content.decode()
    assert listing.count("below baseline") == 1
    assert evals.eval_run_regressions(run=b, baseline=b) == []


def test_one_baseline_per_dataset(runs: tuple[EvalRun, EvalRun], fde_http: HttpClient) -> None:
    a, b = runs
    fde_http.post(f"/rag/eval/runs/{a.uuid}/baseline/")
    fde_http.post(f"/rag/eval/runs/{b.uuid}/baseline/")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.is_baseline, b.is_baseline) == (False, True)


def test_the_compare_page_renders_charts_and_is_scoped(
    runs: tuple[EvalRun, EvalRun], fde_http: HttpClient, outsider_http: HttpClient
) -> None:
    a, b = runs
    url = f"/rag/eval/compare/?runs={a.uuid}&runs={b.uuid}"
    html = fde_http.get(url).content.decode()
    assert "plotly.min.js" in html and html.count('class="plotly-chart"') == 3
    assert 'id="case-changes"' in html and "worse" in html
    assert outsider_http.get(url).status_code == 404


def test_run_progress_polls_until_the_run_is_finished(runs: tuple[EvalRun, EvalRun], fde_http: HttpClient) -> None:
    a, _ = runs
    EvalRun.objects.filter(pk=a.pk).update(status=EvalRun.Status.RUNNING, progress=1)
    running = fde_http.get(f"/jobs/eval-run/{a.uuid}/", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in running.content.decode() and "25%" in running.content.decode()
    EvalRun.objects.filter(pk=a.pk).update(status=EvalRun.Status.SUCCEEDED, progress=4)
    done = fde_http.get(f"/jobs/eval-run/{a.uuid}/", headers={"HX-Request": "true"})
    assert done.status_code == 286 and done["HX-Refresh"] == "true"


def test_a_failed_run_shows_its_error_and_can_be_retried(
    runs: tuple[EvalRun, EvalRun], fde_http: HttpClient, django_capture_on_commit_callbacks: Any
) -> None:
    a, _ = runs
    EvalRun.objects.filter(pk=a.pk).update(status=EvalRun.Status.FAILED, last_error="The run stopped: boom.")
    assert "The run stopped: boom." in fde_http.get(f"/rag/eval/runs/{a.uuid}/").content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        fde_http.post(f"/jobs/eval-run/{a.uuid}/retry/")
    a.refresh_from_db()
    assert a.status == EvalRun.Status.QUEUED and len(callbacks) == 1
