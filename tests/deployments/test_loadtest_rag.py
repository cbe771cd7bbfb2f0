from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from deployments.loadtest.selectors import level_stats
from deployments.loadtest.services import loadtest_execute, loadtest_start
from deployments.models import Deployment, LoadTest, LoadTestRequest
from deployments.services import deployment_save
from engagements.services import engagement_create
from jobs.models import JobStatus
from rag.models import EvalDataset, KnowledgeBase, Prototype
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.pipeline import prepare
from rag.prototypes.prompting import plain
from rag.services.knowledge_base import knowledge_base_create
from tests.deployments.servers import ScriptedServer, relay_to
from tests.rag.conftest import _media_root  # noqa: F401 - ingestion writes the RAG tests' media where they do
from tests.rag.prototype_builders import index, local_deployment, make_prototype

QUESTIONS = [
    "Within how many days must damaged freight claims be filed?",
    "How much does a standard pallet cost within the EU?",
    "When are customer addresses deleted?",
]
RAG: dict[str, Any] = {"workload": "rag", "profile": "concurrent", "output_tokens": 8, "fixed_output": True}


pytestmark = pytest.mark.usefixtures("_media_root")


@pytest.fixture
def policies(engagement: Any, fde: Any) -> KnowledgeBase:
    return index(knowledge_base_create(engagement=engagement, name="Policies", actor=fde, chunk_size=300))


def _dataset(kb: KnowledgeBase, questions: list[str], name: str = "Load") -> EvalDataset:
    dataset = eval_dataset_create(knowledge_base=kb, name=name)
    for n, question in enumerate(questions):
        eval_case_save(dataset=dataset, external_id=f"q{n}", question=question)
    return dataset


@pytest.fixture
def relay(vllm_server: dict[str, str]) -> Iterator[ScriptedServer]:
    """The local vLLM behind a relay that keeps every request it passes on, to read the prompts the run sent."""
    server = ScriptedServer(relay_to(int(vllm_server["base_url"].split(":")[2].split("/")[0])))
    yield server
    server.close()


def _target(relay: ScriptedServer, vllm_server: dict[str, str], engagement: Any) -> Deployment:
    return deployment_save(
        name="Local model under load", base_url=relay.base_url, served_model_name=vllm_server["model"],
        engagement=engagement, context_window=2048,
    )  # fmt: skip


@pytest.mark.vllm
def test_a_rag_run_retrieves_for_every_request_and_sends_the_prototypes_prompts(
    transactional_db: Any, policies: KnowledgeBase, vllm_server: dict[str, str], relay: ScriptedServer, fde: Any
) -> None:
    prototype = make_prototype(policies, local_deployment(vllm_server), abstain_below=0.0)
    dataset = _dataset(policies, QUESTIONS)
    deployment = _target(relay, vllm_server, policies.engagement)
    run = loadtest_start(
        deployment=deployment, actor=fde, concurrency=3, max_requests=6, prototype=prototype, eval_dataset=dataset,
        **RAG,
    )  # fmt: skip
    assert run.prototype_version == prototype.versions.get() and run.eval_dataset == dataset
    done = loadtest_execute(run_id=run.pk)
    assert done is not None and done.status == JobStatus.SUCCEEDED, done and done.last_error

    rows = list(LoadTestRequest.objects.filter(run=run))
    assert len(rows) >= 6 and all(r.ok and not r.declined for r in rows)
    # Every request timed its retrieval, and its time to first token counts from the question, retrieval included.
    assert all(r.retrieval_ms is not None and r.retrieval_ms > 0 for r in rows)
    assert all(r.ttft_ms is not None and r.retrieval_ms is not None and r.ttft_ms > r.retrieval_ms for r in rows)
    (stats,) = level_stats(run=run)
    assert stats.pct["retrieval_p50"] is not None and stats.declined == 0

    # What reached the model is, for each question, the prompt the ask page builds: its passages from the documents.
    expected = {}
    for question in QUESTIONS:
        built = prepare(version=run.prototype_version, question=question).prompt
        assert built is not None and built.passages
        expected[question] = ([{"role": r, "content": c} for r, c in built.messages], built.passages)
    sent = [json.loads(body) for body in relay.requests if body.startswith(b"{")]
    assert len(sent) == len(rows)
    for body in sent:
        question = next(q for q in QUESTIONS if q in body["messages"][-1]["content"])
        messages, passages = expected[question]
        assert body["messages"] == messages and body["max_tokens"] == 8
        context = " ".join(" ".join(m["content"] for m in body["messages"]).split())
        assert all(" ".join(plain(p.text).split()) in context for p in passages)


@pytest.mark.vllm
def test_questions_the_prototype_declines_are_requests_without_generation(
    transactional_db: Any,
    policies: KnowledgeBase,
    vllm_server: dict[str, str],
    relay: ScriptedServer,
    fde: Any,
    fde_http: Any,
) -> None:
    # Nothing stands out enough for a prototype that demands full answerability: every question is declined.
    prototype = make_prototype(policies, local_deployment(vllm_server), abstain_below=1.0)
    deployment = _target(relay, vllm_server, policies.engagement)
    run = loadtest_start(
        deployment=deployment, actor=fde, concurrency=2, max_requests=4, prototype=prototype,
        eval_dataset=_dataset(policies, QUESTIONS), **RAG,
    )  # fmt: skip
    done = loadtest_execute(run_id=run.pk)
    assert done is not None and done.status == JobStatus.SUCCEEDED, done and done.last_error
    rows = list(LoadTestRequest.objects.filter(run=run))
    assert len(rows) >= 4 and all(r.ok and r.declined and r.output_tokens == 0 for r in rows)
    assert all(r.retrieval_ms is not None and r.ttft_ms == r.retrieval_ms for r in rows)
    assert not [body for body in relay.requests if body.startswith(b"{")]  # the deployment got no generation
    (stats,) = level_stats(run=run)
    assert stats.declined == stats.requests and stats.errors == 0 and stats.pct["ttft_p50"] is None
    page = fde_http.get(reverse("deployments:loadtest", args=[run.uuid])).content.decode()
    assert "measured from the question, retrieval included" in page and "Claims bot v1" in page
    assert f'<td class="text-end declined">{stats.declined}</td>' in page


@pytest.fixture
def choices(engagement: Any, client_org: Any, fde: Any) -> dict[str, Any]:
    model = deployment_save(name="Model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    kb = knowledge_base_create(engagement=engagement, name="Policies", actor=fde)
    other = engagement_create(client=client_org, name="Other work", problem_statement="Other.", lead=fde)
    other_kb = knowledge_base_create(engagement=other, name="Other policies", actor=fde)
    empty = eval_dataset_create(knowledge_base=kb, name="Empty")
    eval_case_save(dataset=empty, external_id="d", question="A draft?", status="draft")
    return {
        "deployment": deployment_save(
            name="Target", base_url="http://127.0.0.1:9/v1", served_model_name="m", engagement=engagement
        ),
        "prototype": make_prototype(kb, model),
        "dataset": _dataset(kb, QUESTIONS),
        "empty": empty,
        "other_prototype": make_prototype(other_kb, model, name="Other bot"),
        "other_dataset": _dataset(other_kb, QUESTIONS, name="Other set"),
    }


def _post(http: Any, choices: dict[str, Any], prototype: Prototype | None, dataset: EvalDataset | None) -> str:
    form = {"profile": "concurrent", "concurrency": 2, "sweep_over": "concurrency", "duration_s": 5, "warmup_s": 0,
            "seed": 0, "workload": "rag", "input_tokens": 8, "input_tokens_sd": 0, "output_tokens": 8,
            "output_tokens_sd": 0, "prefix_tokens": 0, "prototype": prototype.uuid if prototype else "",
            "eval_dataset": dataset.uuid if dataset else ""}  # fmt: skip
    response = http.post(reverse("deployments:loadtests", args=[choices["deployment"].uuid]), form)
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_form_refuses_another_engagements_prototype_or_dataset_and_one_without_ready_cases(
    choices: dict[str, Any], fde_http: Any
) -> None:
    page = _post(fde_http, choices, choices["other_prototype"], choices["other_dataset"])
    assert "Choose one of this engagement&#x27;s prototypes." in page
    assert "Choose one of this engagement&#x27;s eval datasets." in page
    assert "Other bot" not in page and "Other set" not in page
    page = _post(fde_http, choices, None, None)
    assert "The RAG workload needs a prototype." in page and "The RAG workload needs an eval dataset." in page
    page = _post(fde_http, choices, choices["prototype"], choices["empty"])
    assert "Empty has no ready cases" in page
    assert not LoadTest.objects.exists()


def test_the_service_refuses_another_engagements_choices(choices: dict[str, Any], fde: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        loadtest_start(
            deployment=choices["deployment"], actor=fde, concurrency=1, max_requests=1,
            prototype=choices["other_prototype"], eval_dataset=choices["other_dataset"], **RAG,
        )  # fmt: skip
    assert set(refused.value.message_dict) == {"prototype", "eval_dataset"}
    assert "not a prototype of" in refused.value.message_dict["prototype"][0]


def test_the_api_refuses_another_engagements_choices(choices: dict[str, Any], fde_http: Any) -> None:
    payload = {"deployment": str(choices["deployment"].uuid), "profile": "synchronous", "max_requests": 1,
               "workload": "rag", "prototype": str(choices["other_prototype"].uuid),
               "eval_dataset": str(choices["dataset"].uuid)}  # fmt: skip
    response = fde_http.post("/api/load-tests/", payload, content_type="application/json")
    assert response.status_code == 422 and "no prototype" in response.json()["detail"]
    payload |= {"prototype": str(choices["prototype"].uuid), "eval_dataset": str(choices["empty"].uuid)}
    response = fde_http.post("/api/load-tests/", payload, content_type="application/json")
    assert response.status_code == 422 and "Empty has no ready cases" in response.json()["detail"]
    assert not LoadTest.objects.exists()
