from __future__ import annotations

import re
import socket
from typing import Any

import pytest
from django.test import Client as HttpClient

from deployments.models import ModelCall
from deployments.services import deployment_save
from rag.models import Answer, Chunk, KnowledgeBase, Prototype
from rag.prototypes.services import answer_create, prototype_version_save
from tests.rag.prototype_builders import index, local_deployment, make_prototype

pytestmark = pytest.mark.vllm


@pytest.fixture
def prototype(kb: KnowledgeBase, vllm_server: dict[str, str]) -> Prototype:
    return make_prototype(index(kb), local_deployment(vllm_server))


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _events(body: str) -> list[tuple[str, str]]:
    events = []
    for block in body.split("\n\n"):
        lines = block.splitlines()
        name = next((line[7:] for line in lines if line.startswith("event: ")), None)
        if name:
            events.append((name, "\n".join(line[6:] for line in lines if line.startswith("data: "))))
    return events


def _ask(http: HttpClient, prototype: Prototype, question: str) -> tuple[Answer, list[tuple[str, str]]]:
    response = http.post(f"/rag/prototypes/{prototype.uuid}/ask/", {"question": question})
    assert response.status_code == 200
    answer = Answer.objects.latest("created_at")
    assert f"/rag/answers/{answer.uuid}/stream/" in response.content.decode()
    stream = http.get(f"/rag/answers/{answer.uuid}/stream/")
    assert stream["Content-Type"] == "text/event-stream"
    body = b"".join(stream.streaming_content).decode()  # type: ignore[attr-defined]
    answer.refresh_from_db()
    return answer, _events(body)


def test_ask_streams_tokens_then_the_cited_answer(fde_http: HttpClient, prototype: Prototype) -> None:
    answer, events = _ask(fde_http, prototype, "Within how many days must damaged freight claims be filed?")

    names = [name for name, _ in events]
    assert names[0] == "sources"
    assert names.count("token") > 1
    assert names[-1] == "done"
    streamed = "".join(data for name, data in events if name == "token")
    assert streamed.replace("<br>", "\n")  # something was generated, whatever the wording
    assert answer.status == Answer.Status.DONE
    assert answer.citations, "the passages given to the model are recorded"
    for citation in answer.citations:
        chunk = Chunk.objects.select_related("document").get(pk=citation["chunk_id"])
        assert chunk.document.external_id == citation["external_id"]
        assert chunk.knowledge_base_id == prototype.knowledge_base_id
    assert any(c["external_id"] == "handbook/claims.pdf" and c["page"] == 2 for c in answer.citations)
    assert answer.version.number == 1
    assert answer.embed_ms is not None and answer.retrieval_ms is not None
    assert answer.ttft_ms is not None and answer.total_ms is not None and answer.ttft_ms <= answer.total_ms
    assert answer.prompt_tokens and answer.completion_tokens
    call = ModelCall.objects.get()
    assert answer.model_call == call and call.caller == "rag.ask"
    assert call.engagement_id == prototype.knowledge_base.engagement_id
    done_html = events[-1][1]
    assert 'data-status="done"' in done_html
    assert f"/rag/answers/{answer.uuid}/citations/1/" in done_html


def test_citation_opens_the_chunk_and_its_document_page(fde_http: HttpClient, prototype: Prototype) -> None:
    answer, _ = _ask(fde_http, prototype, "Within how many days must damaged freight claims be filed?")
    n = next(c["n"] for c in answer.citations if c["external_id"] == "handbook/claims.pdf")

    html = fde_http.get(f"/rag/answers/{answer.uuid}/citations/{n}/").content.decode()

    assert "within 14 days of delivery" in html
    assert f"/rag/answers/{answer.uuid}/citations/{n}/document/#passage" in html
    page = fde_http.get(f"/rag/answers/{answer.uuid}/citations/{n}/document/").content.decode()
    assert f"Passage [{n}] is on page 2" in page
    marked = page.split('<mark id="passage"', 1)[1].split("</mark>", 1)[0]
    assert "within 14 days of delivery" in marked and "Chapter one" not in marked
    assert f"citations/{n}/document/?original=1#page=2" in page
    original = fde_http.get(f"/rag/answers/{answer.uuid}/citations/{n}/document/?original=1")
    assert b"".join(original.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]


def test_below_the_threshold_it_abstains_without_calling_the_model(fde_http: HttpClient, prototype: Prototype) -> None:
    prototype_version_save(prototype=prototype, abstain_below=0.95, note="strict")

    answer, events = _ask(fde_http, prototype, "Who won the football world cup in 1954?")

    assert [name for name, _ in events] == ["done"]
    assert answer.status == Answer.Status.ABSTAINED
    assert answer.version.number == 2
    assert "do not answer this question" in answer.text
    assert answer.confidence is not None and answer.confidence < 0.95
    assert not ModelCall.objects.exists()


def test_a_down_model_endpoint_gives_a_clear_error_in_the_answer(
    fde_http: HttpClient, prototype: Prototype, closed_port: int
) -> None:
    down = deployment_save(name="Down", base_url=f"http://127.0.0.1:{closed_port}/v1", served_model_name="x")
    prototype_version_save(prototype=prototype, deployment=down)

    answer, events = _ask(fde_http, prototype, "Within how many days must damaged freight claims be filed?")

    assert events[-1][0] == "done"
    assert answer.status == Answer.Status.FAILED
    assert "refused the connection" in answer.error_detail and "Down" in answer.error_detail
    assert "refused the connection" in events[-1][1], "provider staff see the full reason"
    assert "not answering" in answer.error and "127.0.0.1" not in answer.error


def test_a_client_user_asking_a_down_model_learns_what_happens_but_no_internal_host(
    member_http: HttpClient, prototype: Prototype, closed_port: int
) -> None:
    down = deployment_save(name="Secret box", base_url=f"http://127.0.0.1:{closed_port}/v1", served_model_name="x")
    prototype_version_save(prototype=prototype, deployment=down)
    response = member_http.post(f"/portal/prototypes/{prototype.uuid}/ask/", {"question": "Claim deadline?"})
    assert response.status_code == 200
    answer = Answer.objects.latest("created_at")
    stream = member_http.get(f"/portal/answers/{answer.uuid}/stream/")
    body = b"".join(stream.streaming_content).decode()  # type: ignore[attr-defined]
    page = member_http.get(f"/portal/prototypes/{prototype.uuid}/").content.decode()
    for shown in (body, page):
        assert "not answering right now" in shown and "try again in a few minutes" in shown
        assert "127.0.0.1" not in shown and str(closed_port) not in shown and "Secret box" not in shown


def test_the_api_gives_the_full_reason_to_provider_staff_only(
    fde_http: HttpClient, member_http: HttpClient, prototype: Prototype, closed_port: int
) -> None:
    down = deployment_save(name="Secret box", base_url=f"http://127.0.0.1:{closed_port}/v1", served_model_name="x")
    prototype_version_save(prototype=prototype, deployment=down)
    url = f"/api/prototypes/{prototype.uuid}/answers"
    client_view = member_http.post(url, {"question": "Claim deadline?"}, content_type="application/json").json()
    staff_view = fde_http.post(url, {"question": "Claim deadline?"}, content_type="application/json").json()
    assert "127.0.0.1" not in client_view["error"] and "not answering" in client_view["error"]
    assert f"127.0.0.1:{closed_port}" in staff_view["error"]


def test_answers_keep_the_version_they_came_from(prototype: Prototype, fde: Any) -> None:
    first = answer_create(version=prototype.versions.get(), question="A question?", user=fde)
    prototype_version_save(prototype=prototype, top_k=2)
    assert first.version.number == 1
    assert prototype.versions.count() == 2
    assert prototype.versions.get(number=1).top_k == 4


def test_an_empty_question_is_refused_with_a_message(fde_http: HttpClient, prototype: Prototype) -> None:
    response = fde_http.post(f"/rag/prototypes/{prototype.uuid}/ask/", {"question": "   "})
    assert "This field is required" in response.content.decode() or "Type a question" in response.content.decode()
    assert not Answer.objects.exists()


def test_client_users_and_outsiders_cannot_reach_the_fde_ask_path(
    member_http: HttpClient, outsider_http: HttpClient, prototype: Prototype, fde: Any
) -> None:
    answer = answer_create(version=prototype.versions.get(), question="A question?", user=fde)
    for http in (member_http, outsider_http):
        assert http.get(f"/rag/prototypes/{prototype.uuid}/").status_code == 404
        assert http.post(f"/rag/prototypes/{prototype.uuid}/ask/", {"question": "hi"}).status_code == 404
        assert http.get(f"/rag/answers/{answer.uuid}/stream/").status_code == 404
        assert http.get(f"/rag/answers/{answer.uuid}/citations/1/").status_code == 404
    answer.refresh_from_db()
    assert answer.status == Answer.Status.PENDING


def test_the_prototype_page_renders_for_its_fde(fde_http: HttpClient, prototype: Prototype) -> None:
    html = fde_http.get(f"/rag/prototypes/{prototype.uuid}/").content.decode()
    assert "Claims bot" in html and re.search(r"Settings of v1", html)
