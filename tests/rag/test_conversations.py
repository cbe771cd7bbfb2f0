"""Conversations: a follow-up is read with the turns before it, the conversation is logged, and its turns become
eval cases. The local model's rewrites are never asserted on word for word: what is checked is what was searched,
what was found, and that a rewrite the product cannot use is never searched."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from django.test import Client as HttpClient

from deployments.models import ModelCall
from deployments.services import deployment_save
from rag.models import Answer, Conversation, EvalCase, EvalDataset, KnowledgeBase, Prototype
from rag.prototypes import conversations, retrieval
from rag.prototypes.conversations import FALLBACK_NOTE, Turn, conversation_to_eval_cases, rewrite
from rag.prototypes.selectors import prototype_latest_version
from rag.prototypes.services import answer_ask, answer_claim, answer_generate
from tests.rag.prototype_builders import index, local_deployment, make_prototype

FIRST = "Within how many days must damaged freight claims be filed?"
FOLLOW_UP = "And who receives them?"


@pytest.fixture
def prototype(kb: KnowledgeBase, vllm_server: dict[str, str]) -> Prototype:
    return make_prototype(index(kb), local_deployment(vllm_server), abstain_below=0.0)


@pytest.fixture
def offline(kb: KnowledgeBase) -> Prototype:
    """A prototype whose model is never reached: for what happens before and after an answer is written."""
    deployment = deployment_save(name="Not called", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    return make_prototype(index(kb), deployment)


def _answered(prototype: Prototype, user: Any, question: str, conversation: Any = None) -> Answer:
    answer = answer_ask(prototype=prototype, question=question, user=user, conversation=conversation)
    assert answer_claim(answer=answer)
    for _ in answer_generate(answer=answer):
        pass
    answer.refresh_from_db()
    return answer


@pytest.mark.parametrize(
    ("query", "question", "usable"),
    [
        ("Who receives damaged freight claims?", "And who receives them?", True),
        ("Who receives them?", "And who receives them?", True),
        # answers instead of asking
        ("Damaged freight claims go to the carrier claims desk.", "And who receives them?", False),
        # drops the one new word that matters
        ("How long does shipping to Germany take?", "And to Austria, how long does shipping take?", False),
        ("What does the L40S cost per hour?", "And the H100?", False),
        ("What does the H100 cost per hour?", "And the H100?", True),
        ("How much does the carrier charge for hazardous goods?", "How much do they charge for that?", True),
        ("", "And who receives them?", False),
        ("Who receives " + "damaged freight claims " * 40 + "?", "And who receives them?", False),
        # not a question, and the follow-up was not one either
        ("Show the surcharge for hazardous goods", "show the surcharge", True),
        ("Wie lange dauert der Versand nach Österreich?", "Und nach Österreich?", True),
        ("Wie lange dauert der Versand nach Deutschland?", "Und nach Österreich?", False),
    ],
)
def test_a_rewrite_is_used_only_when_it_still_asks_the_follow_up(query: str, question: str, usable: bool) -> None:
    assert conversations._usable(query, question) is usable


def test_model_lead_ins_and_quotes_are_removed_from_a_rewrite() -> None:
    assert conversations._cleaned('Rewritten question: "Who receives claims?"\nMore text') == "Who receives claims?"
    assert conversations._cleaned("\n  Who receives claims?") == "Who receives claims?"


@pytest.mark.django_db
def test_a_first_question_is_searched_as_asked_without_calling_the_model(kb: KnowledgeBase) -> None:
    deployment = deployment_save(name="Never called", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    offline = make_prototype(index(kb), deployment)
    result = rewrite(version=prototype_latest_version(prototype=offline), turns=[], question=FIRST)
    assert result.query == FIRST and result.note == "" and result.ms is None
    assert not ModelCall.objects.exists()


@pytest.mark.django_db
def test_a_dead_model_falls_back_to_the_previous_question_within_the_connect_timeout(kb: KnowledgeBase) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    deployment = deployment_save(name="Down", base_url=f"http://127.0.0.1:{port}/v1", served_model_name="m")
    offline = make_prototype(index(kb), deployment)
    started = time.monotonic()
    result = rewrite(
        version=prototype_latest_version(prototype=offline),
        turns=[Turn(question=FIRST, answer="Within 14 days.")],
        question=FOLLOW_UP,
    )
    assert time.monotonic() - started < 10
    assert result.query == f"{FIRST} {FOLLOW_UP}"
    assert result.note == FALLBACK_NOTE
    assert ModelCall.objects.get().status == ModelCall.Status.UNREACHABLE


@pytest.mark.vllm
def test_a_follow_up_is_read_with_the_conversation_and_finds_the_same_document(prototype: Prototype, fde: Any) -> None:
    first = _answered(prototype, fde, FIRST)
    assert first.conversation is not None
    follow = _answered(prototype, fde, FOLLOW_UP, conversation=first.conversation.uuid)

    assert first.conversation is not None and follow.conversation == first.conversation
    assert first.search_query == FIRST and not first.rewritten and first.rewrite_ms is None
    assert follow.rewritten and follow.rewrite_ms is not None
    # Whatever the model wrote, what was searched either passed the usability check or is the fallback.
    assert conversations._usable(follow.search_query, FOLLOW_UP) or (
        follow.search_query == f"{FIRST} {FOLLOW_UP}" and follow.search_note == FALLBACK_NOTE
    )
    assert ModelCall.objects.filter(caller="rag.rewrite").count() == 1
    # The follow-up alone names no document; read with the conversation it finds the claims handbook again.
    assert follow.citations[0]["external_id"] == first.citations[0]["external_id"] == "handbook/claims.pdf"
    assert first.conversation.turns.count() == 2


@pytest.mark.django_db
def test_someone_elses_conversation_is_never_continued(offline: Prototype, fde: Any, client_member: Any) -> None:
    theirs = Conversation.objects.create(prototype=offline, started_by=fde)
    answer = answer_ask(prototype=offline, question=FOLLOW_UP, user=client_member, conversation=theirs.uuid)
    assert answer.conversation is not None and answer.conversation != theirs
    assert answer.conversation.started_by == client_member


@pytest.mark.django_db
def test_a_conversation_is_refused_another_prototype(offline: Prototype, fde: Any, kb: KnowledgeBase) -> None:
    other = make_prototype(kb, prototype_latest_version(prototype=offline).deployment, name="Other bot")
    conversation = Conversation.objects.create(prototype=other, started_by=fde)
    answer = answer_ask(prototype=offline, question=FIRST, user=fde, conversation=conversation.uuid)
    assert answer.conversation != conversation and answer.conversation.prototype == offline  # type: ignore[union-attr]


def _finished(prototype: Prototype, user: Any, question: str, text: str, conversation: Any, **fields: Any) -> Answer:
    answer = answer_ask(prototype=prototype, question=question, user=user, conversation=conversation)
    found = retrieval.retrieve(version=answer.version, question=FIRST)
    citation = found.passages[0].as_citation(1) | {"cited": True}
    assert citation["external_id"] == "handbook/claims.pdf"
    answer.status, answer.text, answer.citations = Answer.Status.DONE, text, [citation]
    for name, value in fields.items():
        setattr(answer, name, value)
    answer.save()
    return answer


@pytest.mark.django_db
def test_a_conversation_becomes_draft_eval_cases_once(offline: Prototype, fde: Any) -> None:
    first = _finished(offline, fde, FIRST, "Within 14 days of delivery [1].", None, search_query=FIRST)
    conversation = first.conversation
    _finished(
        offline, fde, FOLLOW_UP, "The carrier claims desk [1].", conversation.uuid,  # type: ignore[union-attr]
        search_query="Who receives damaged freight claims?",
    )  # fmt: skip
    declined = answer_ask(prototype=offline, question="And pets?", user=fde, conversation=conversation.uuid)  # type: ignore[union-attr]
    declined.status, declined.text = Answer.Status.ABSTAINED, "The documents do not answer this question."
    declined.save()
    answer_ask(prototype=offline, question="Still going?", user=fde, conversation=conversation.uuid)  # type: ignore[union-attr]

    dataset, cases = conversation_to_eval_cases(conversation=conversation)  # type: ignore[arg-type]
    again, _ = conversation_to_eval_cases(conversation=conversation)  # type: ignore[arg-type]

    assert dataset == again and dataset.name == conversations.CONVERSATIONS_DATASET
    assert dataset.cases.count() == 3, "a turn still pending is left out, and adding again repeats nothing"
    rows = list(dataset.cases.order_by("external_id").values_list("question", "reference_answer", "status", "origin"))
    assert rows == [
        (FIRST, "Within 14 days of delivery.", EvalCase.Status.DRAFT, EvalCase.Origin.CONVERSATION),
        ("Who receives damaged freight claims?", "The carrier claims desk.", "draft", "conversation"),
        ("And pets?", "", "draft", "conversation"),
    ]
    assert cases[0].relevant_documents == ["handbook/claims.pdf"] and cases[2].relevant_documents == []
    assert cases[1].tags == ["conversation", "follow-up"]


@pytest.mark.django_db
def test_the_conversation_page_lists_turns_and_adds_them_to_a_chosen_dataset(
    offline: Prototype, fde: Any, fde_http: HttpClient, client_member: Any
) -> None:
    first = _finished(offline, client_member, FIRST, "Within 14 days [1].", None, search_query=FIRST)
    _finished(
        offline, client_member, FOLLOW_UP, "The claims desk [1].", first.conversation.uuid,  # type: ignore[union-attr]
        search_query="Who receives damaged freight claims?",
    )  # fmt: skip
    conversation = first.conversation
    page = fde_http.get(f"/rag/conversations/{conversation.uuid}/").content.decode()  # type: ignore[union-attr]
    assert page.index(FIRST) < page.index("Who receives damaged freight claims?")
    assert "Read with the conversation as" in page
    assert conversation is not None
    assert (
        f"/rag/conversations/{conversation.uuid}/" in fde_http.get(f"/rag/prototypes/{offline.uuid}/").content.decode()
    )

    dataset = EvalDataset.objects.create(knowledge_base=offline.knowledge_base, name="Follow-ups")
    response = fde_http.post(f"/rag/conversations/{conversation.uuid}/eval-cases/", {"dataset": str(dataset.uuid)})  # type: ignore[union-attr]
    assert response.status_code == 302 and response["Location"] == f"/rag/eval/datasets/{dataset.uuid}/"
    assert dataset.cases.count() == 2

    foreign = EvalDataset.objects.create(knowledge_base=KnowledgeBase.objects.create(
        engagement=offline.knowledge_base.engagement, name="Another base"), name="Elsewhere")  # fmt: skip
    response = fde_http.post(f"/rag/conversations/{conversation.uuid}/eval-cases/", {"dataset": str(foreign.uuid)})  # type: ignore[union-attr]
    assert response.status_code == 302 and not foreign.cases.exists()


@pytest.mark.django_db
def test_the_ask_form_carries_the_conversation_to_the_next_question(offline: Prototype, fde_http: HttpClient) -> None:
    response = fde_http.post(f"/rag/prototypes/{offline.uuid}/ask/", {"question": FIRST})
    first = Answer.objects.get()
    body = response.content.decode()
    assert 'hx-swap-oob="true"' in body and f'value="{first.conversation.uuid}"' in body  # type: ignore[union-attr]
    fde_http.post(
        f"/rag/prototypes/{offline.uuid}/ask/",
        {"question": FOLLOW_UP, "conversation": str(first.conversation.uuid)},  # type: ignore[union-attr]
    )
    assert Answer.objects.filter(conversation=first.conversation).count() == 2
    fde_http.post(f"/rag/prototypes/{offline.uuid}/ask/", {"question": "A new subject?", "conversation": ""})
    assert Conversation.objects.count() == 2


@pytest.mark.django_db
def test_a_full_conversation_asks_for_a_new_one(offline: Prototype, fde: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(conversations, "MAX_TURNS", 2)
    first = answer_ask(prototype=offline, question=FIRST, user=fde)
    answer_ask(prototype=offline, question=FOLLOW_UP, user=fde, conversation=first.conversation.uuid)  # type: ignore[union-attr]
    with pytest.raises(Exception, match="start a new conversation"):
        answer_ask(prototype=offline, question="Third?", user=fde, conversation=first.conversation.uuid)  # type: ignore[union-attr]


@pytest.mark.django_db
def test_the_api_continues_a_conversation_and_searches_with_the_previous_question_when_the_model_is_down(
    offline: Prototype, fde_http: HttpClient
) -> None:
    url = f"/api/prototypes/{offline.uuid}/answers"
    first = fde_http.post(url, {"question": FIRST}, content_type="application/json").json()
    follow = fde_http.post(
        url, {"question": FOLLOW_UP, "conversation": first["conversation"]}, content_type="application/json"
    ).json()

    assert first["conversation"] and follow["conversation"] == first["conversation"]
    assert first["search_query"] == FIRST
    assert follow["search_query"] == f"{FIRST} {FOLLOW_UP}"
    assert follow["status"] == "failed" and follow["timings_ms"]["rewrite"] is not None
