from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engagements.models import Engagement
from rag.models import Answer, Chunk, Prototype
from rag.services.knowledge_base import knowledge_base_create
from tests.conftest import PASSWORD
from tests.fixtures_services import login
from tests.rag.prototype_builders import index, local_deployment, make_prototype

pytestmark = [pytest.mark.e2e, pytest.mark.vllm, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def prototype(
    engagement: Engagement, fde: Any, vllm_server: dict[str, str], settings: Any, tmp_path: Path
) -> Prototype:
    settings.MEDIA_ROOT = tmp_path / "media"
    kb = knowledge_base_create(engagement=engagement, name="Policies", actor=fde, chunk_size=300, chunk_overlap=40)
    return make_prototype(index(kb), local_deployment(vllm_server), max_tokens=40)


def _ask(page: Any, question: str) -> Any:
    page.fill("#ask-form textarea[name=question]", question)
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector(".answer-card[data-status=streaming]")
    return page.wait_for_selector(".answer-card[data-status=done], .answer-card[data-status=failed]", timeout=60_000)


def test_an_fde_asks_and_sees_the_streamed_answer_and_its_citations(page: Any, fde: Any, prototype: Prototype) -> None:
    login(page, fde.email, PASSWORD)
    page.goto(f"/rag/prototypes/{prototype.uuid}/")
    tokens: list[str] = []
    page.on("console", lambda message: tokens.append(message.text))
    page.evaluate("document.body.addEventListener('htmx:sseMessage', (e) => console.log('sse:' + e.detail.type))")

    card = _ask(page, "Within how many days must damaged freight claims be filed?")

    assert card.get_attribute("data-status") == "done"
    assert "sse:token" in tokens, "tokens arrived one by one over server-sent events"
    assert card.query_selector(".answer-text").inner_text().strip()
    timings = card.query_selector(".answer-timings").inner_text()
    assert "first token" in timings and "completion tokens" in timings
    answer = Answer.objects.get()
    listed = [int(item.get_attribute("data-n")) for item in card.query_selector_all(".answer-sources .source-item")]
    assert listed == [c["n"] for c in answer.sources], "only the passages the answer cites are listed, each once"
    assert (card.query_selector("[data-flag=uncited]") is not None) == answer.cites_nothing
    shown = answer.sources[0] if answer.sources else answer.citations[0]
    if not answer.sources:
        card.query_selector(".answer-given summary").click()
    card.query_selector(f".source-item[data-n='{shown['n']}'] a.source-link").click()
    citation = page.wait_for_selector(f".citation-card[data-chunk='{shown['chunk_id']}']")
    with page.context.expect_page() as opened:
        citation.query_selector("a.open-in-document").click()
    document = opened.value
    mark = document.wait_for_selector("mark#passage")
    chunk_text = Chunk.objects.get(pk=shown["chunk_id"]).text
    assert " ".join(mark.inner_text().split())[:40] == " ".join(chunk_text.split())[:40]


def test_a_client_member_asks_in_the_portal_and_rates_the_answer(
    page: Any, client_member: Any, prototype: Prototype
) -> None:
    login(page, client_member.email, PASSWORD)
    page.click("nav >> text=Prototypes")
    page.click(f"text={prototype.name}")
    card = _ask(page, "What does a standard pallet cost within the EU?")
    assert card.query_selector(".answer-timings") is None  # the client sees the answer, not the internals

    card.query_selector("button[title='Not helpful']").click()
    page.fill(f"#correction-{Answer.objects.get().uuid} textarea", "42 EUR per pallet.")
    page.click("text=Send: not helpful")
    page.wait_for_selector("text=will be reviewed")
    assert Answer.objects.get().feedback.get().correction == "42 EUR per pallet."


def _ask_next(page: Any, question: str) -> Any:
    """Ask and wait for this question's own card, the newest, at the top of the answers."""
    page.fill("#ask-form textarea[name=question]", question)
    page.click("#ask-form button[type=submit]")
    page.wait_for_function(
        "q => document.querySelector('#answers > .answer-card')?.textContent.includes(q)", arg=question
    )
    return page.wait_for_selector(
        "#answers > .answer-card:first-child:is([data-status=done], [data-status=failed], [data-status=abstained])",
        timeout=60_000,
    )


def test_a_follow_up_in_the_portal_continues_the_conversation_until_a_new_one_is_started(
    page: Any, client_member: Any, prototype: Prototype
) -> None:
    login(page, client_member.email, PASSWORD)
    page.goto(f"/portal/prototypes/{prototype.uuid}/")
    _ask_next(page, "Within how many days must damaged freight claims be filed?")
    page.wait_for_selector("#conversation-state[data-turns='1']")

    card = _ask_next(page, "And who receives them?")
    page.wait_for_selector("#conversation-state[data-turns='2']")
    follow = Answer.objects.order_by("-created_at").first()
    assert follow is not None and follow.conversation is not None and follow.conversation.turns.count() == 2
    shown = card.query_selector("[data-search-query]")
    assert shown is not None and follow.search_query in shown.inner_text(), "the reader sees how it was understood"

    page.click("[data-conversation-reset]")
    assert page.input_value("#conversation-state input[name=conversation]") == ""
    _ask_next(page, "What does a standard pallet cost within the EU?")
    page.wait_for_selector("#conversation-state[data-turns='1']")
    newest = Answer.objects.order_by("-created_at").first()
    assert newest is not None and newest.conversation != follow.conversation and not newest.rewritten
