from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.test import Client as HttpClient
from django.urls import reverse

from deployments.services import deployment_save
from rag import abstention
from rag.models import EvalCase, EvalDataset, EvalResult, EvalRun, KnowledgeBase, PrototypeVersion
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.evals import eval_run_finish
from rag.prototypes.selectors import prototype_latest_version
from rag.prototypes.services import prototype_create, prototype_version_save

ANSWERABLE = [0.05, 0.12, 0.2, 0.25, 0.3, 0.31, 0.32, 0.4, 0.45, 0.5]
UNANSWERABLE = [0.01, 0.04, 0.1, 0.11, 0.22]


def _run(kb: KnowledgeBase, *, unanswerable: list[float] = UNANSWERABLE) -> EvalRun:
    """A finished run whose cases scored the given answerability; no model is needed to calibrate."""
    deployment = deployment_save(name="Unused", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    prototype = prototype_create(
        knowledge_base=kb, name="Bot", deployment=deployment, embedding_model=kb.embedding_models.first()
    )
    dataset = eval_dataset_create(knowledge_base=kb, name="Calibration")
    version = prototype_latest_version(prototype=prototype)
    run = EvalRun.objects.create(dataset=dataset, version=version, status=EvalRun.Status.RUNNING)
    scores = [(s, False) for s in ANSWERABLE] + [(s, True) for s in unanswerable]
    for n, (score, cant) in enumerate(scores):
        case = eval_case_save(dataset=dataset, external_id=f"q{n}", question=f"Question {n}?", unanswerable=cant)
        EvalResult.objects.create(run=run, case=case, confidence=score, abstained=score < version.abstain_below)
    return eval_run_finish(run_id=run.pk)


@pytest.fixture
def kb(engagement: Any) -> KnowledgeBase:
    from rag.services.knowledge_base import knowledge_base_create

    return knowledge_base_create(engagement=engagement, name="Policies")


def test_an_eval_run_reports_the_auroc_of_its_answerability(kb: KnowledgeBase) -> None:
    run = _run(kb)
    assert run.metrics["abstention_auroc"] == pytest.approx(abstention.auroc(ANSWERABLE, UNANSWERABLE))
    assert run.metrics["confidence_signal"] == abstention.SIGNAL


def test_the_fde_sees_the_curve_and_the_threshold_for_their_target(kb: KnowledgeBase, fde_http: HttpClient) -> None:
    run = _run(kb)
    page = fde_http.get(reverse("rag:eval-run", args=[run.uuid]))
    assert reverse("rag:eval-run-abstention", args=[run.uuid]) in page.content.decode()
    card = fde_http.get(reverse("rag:eval-run-abstention", args=[run.uuid]), {"target": "10"})
    html = card.content.decode()
    assert card.status_code == 200 and 'data-threshold="0.115000' in html and "plotly-chart" in html
    assert "AUROC 0.900" in html and "Save as the next version" in html
    strict = fde_http.get(reverse("rag:eval-run-abstention", args=[run.uuid]), {"target": "0"}).content.decode()
    assert 'data-threshold="0.045000' in strict


def test_saving_the_calibrated_threshold_makes_the_next_version(kb: KnowledgeBase, fde_http: HttpClient) -> None:
    run = _run(kb)
    response = fde_http.post(reverse("rag:eval-run-abstention-apply", args=[run.uuid]), {"target": "10"})
    assert response.status_code == 302
    latest = prototype_latest_version(prototype=run.version.prototype)
    assert latest.number == 2 and latest.abstain_below == pytest.approx(0.115)
    assert "Abstention calibrated on Calibration" in latest.note


def test_without_unanswerable_cases_the_page_offers_to_draft_some(kb: KnowledgeBase, fde_http: HttpClient) -> None:
    run = _run(kb, unanswerable=[])
    html = fde_http.get(reverse("rag:eval-run-abstention", args=[run.uuid])).content.decode()
    assert "no unanswerable cases" in html and reverse("rag:eval-draft-unanswerable", args=[run.dataset.uuid]) in html
    response = fde_http.post(reverse("rag:eval-run-abstention-apply", args=[run.uuid]), {"target": "10"})
    assert response.status_code == 302 and prototype_latest_version(prototype=run.version.prototype).number == 1


def test_runs_scored_with_the_old_signal_ask_for_a_new_run(kb: KnowledgeBase, fde_http: HttpClient) -> None:
    run = _run(kb)
    EvalRun.objects.filter(pk=run.pk).update(metrics={**run.metrics, "confidence_signal": None})
    html = fde_http.get(reverse("rag:eval-run-abstention", args=[run.uuid])).content.decode()
    assert "run the dataset again" in html


def test_only_the_engagement_team_may_change_the_threshold_and_clients_see_nothing(
    kb: KnowledgeBase, other_fde: Any, member_http: HttpClient, outsider_http: HttpClient
) -> None:
    run = _run(kb)
    colleague = HttpClient()
    colleague.force_login(other_fde)
    assert colleague.get(reverse("rag:eval-run-abstention", args=[run.uuid])).status_code == 200
    assert colleague.post(reverse("rag:eval-run-abstention-apply", args=[run.uuid])).status_code == 404
    for http in (member_http, outsider_http):
        assert http.get(reverse("rag:eval-run-abstention", args=[run.uuid])).status_code == 404
        assert http.post(reverse("rag:eval-run-abstention-apply", args=[run.uuid])).status_code == 404
        url = reverse("rag:eval-draft-unanswerable", args=[run.dataset.uuid])
        assert http.post(url).status_code == 404
    assert colleague.post(reverse("rag:eval-draft-unanswerable", args=[run.dataset.uuid])).status_code == 404
    assert prototype_latest_version(prototype=run.version.prototype).number == 1


@pytest.mark.vllm
def test_the_model_drafts_unanswerable_questions_for_review(
    kb: KnowledgeBase, fde_http: HttpClient, vllm_server: dict[str, str]
) -> None:
    from tests.rag.prototype_builders import index, local_deployment, make_prototype

    prototype = make_prototype(index(kb), local_deployment(vllm_server))
    dataset = eval_dataset_create(knowledge_base=kb, name="No unanswerable yet")
    eval_case_save(dataset=dataset, external_id="q1", question="What does a standard pallet cost?")
    response = fde_http.post(
        reverse("rag:eval-draft-unanswerable", args=[dataset.uuid]), {"prototype": str(prototype.uuid)}
    )
    assert response.status_code == 302
    drafts = dataset.cases.filter(origin=EvalCase.Origin.GENERATED)
    assert all(c.unanswerable and c.status == EvalCase.Status.DRAFT and not c.relevant_documents for c in drafts)
    assert drafts.count() <= 3 and dataset.cases.filter(status=EvalCase.Status.READY).count() == 1


def test_the_migration_moves_old_thresholds_and_default_weights(kb: KnowledgeBase) -> None:
    run = _run(kb)
    prototype = run.version.prototype
    old = prototype_version_save(prototype=prototype, vector_weight=1.0, keyword_weight=1.0, abstain_below=0.3)
    chosen = prototype_version_save(prototype=prototype, vector_weight=2.0, keyword_weight=1.0, abstain_below=0.0)
    migration = importlib.import_module("rag.migrations.0007_answerability")
    migration.forwards(apps, None)
    old.refresh_from_db()
    chosen.refresh_from_db()
    assert (old.vector_weight, old.keyword_weight, old.abstain_below) == (0.75, 0.25, 0.085)
    assert (chosen.vector_weight, chosen.keyword_weight, chosen.abstain_below) == (2.0, 1.0, 0.0)
    assert PrototypeVersion._meta.get_field("abstain_below").default == abstention.DEFAULT_THRESHOLD


__all__ = ["EvalDataset"]
