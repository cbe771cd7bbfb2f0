from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from rag.models import Answer, KnowledgeBase, Prototype
from rag.prototypes import evals
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from tests.rag.prototype_builders import index, local_deployment, make_prototype


@pytest.fixture
def prototype(kb: KnowledgeBase, vllm_server: dict[str, str]) -> Prototype:
    return make_prototype(index(kb), local_deployment(vllm_server))


@pytest.mark.vllm
def test_the_api_answers_with_citations_and_timings(member_http: HttpClient, prototype: Prototype) -> None:
    response = member_http.post(
        f"/api/prototypes/{prototype.uuid}/answers",
        {"question": "What does a standard pallet cost within the EU?"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "done" and body["text"] and body["version"] == 1
    assert "rates.md" in {c["external_id"] for c in body["citations"]}
    assert body["timings_ms"]["first_token"] <= body["timings_ms"]["total"]
    call = Answer.objects.get().model_call
    assert call is not None and call.caller == "rag.api"


def test_the_api_lists_only_what_the_caller_may_see(
    fde_http: HttpClient, member_http: HttpClient, outsider_http: HttpClient, prototype: Prototype
) -> None:
    assert [p["name"] for p in fde_http.get("/api/prototypes/").json()] == ["Claims bot"]
    assert [p["name"] for p in member_http.get("/api/prototypes/").json()] == ["Claims bot"]
    assert outsider_http.get("/api/prototypes/").json() == []
    response = outsider_http.post(
        f"/api/prototypes/{prototype.uuid}/answers", {"question": "hi"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert not Answer.objects.exists()


def test_an_empty_question_gets_a_422_that_says_why(fde_http: HttpClient, prototype: Prototype) -> None:
    response = fde_http.post(
        f"/api/prototypes/{prototype.uuid}/answers", {"question": "  "}, content_type="application/json"
    )
    assert response.status_code == 422 and "Type a question first" in response.content.decode()


def test_eval_runs_are_readable_by_the_engagement_only(
    fde_http: HttpClient, outsider_http: HttpClient, prototype: Prototype, kb: KnowledgeBase
) -> None:
    dataset = eval_dataset_create(knowledge_base=kb, name="API")
    eval_case_save(dataset=dataset, external_id="q", question="Q?")
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, enqueue=False)

    body = fde_http.get(f"/api/prototypes/runs/{run.uuid}").json()

    assert (body["status"], body["total"], body["version"]) == ("queued", 1, 1)
    assert outsider_http.get(f"/api/prototypes/runs/{run.uuid}").status_code == 404
