"""Conversations with a prototype: follow-ups read with the turns before them, and turns kept as eval cases.

A follow-up such as "and for international orders?" finds nothing on its own, so before retrieval the prototype's
own model rewrites it into a question that stands alone, given the last few turns. The rewrite is what is searched
and answered, and is shown beside the question so the reader sees how it was understood. When the model cannot
rewrite (it is down, or returns nothing usable) the previous question is searched together with the follow-up,
which keeps the subject in the search without inventing anything.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from deployments.gateway import ModelEndpointError, chat_complete
from rag.models import Answer, Conversation, EvalCase, EvalDataset, Prototype, PrototypeVersion
from rag.prototypes.citing import read_citations
from rag.prototypes.datasets import eval_case_save

HISTORY_TURNS = 3  # the turns a follow-up is read with; older ones rarely carry the subject
ANSWER_CHARS = 400  # of each earlier answer, enough for what it was about
MAX_TURNS = 30
REWRITE_MAX_TOKENS = 96
CONVERSATIONS_DATASET = "Conversations"
REWRITE_SYSTEM = (
    "You rewrite the last question of a conversation so that it can be understood on its own: replace words such "
    "as it, they, that or there with what they refer to in the conversation, keep the question's language and "
    "meaning, and add nothing else. Reply with the rewritten question only."
)
FALLBACK_NOTE = (
    "The model gave no usable rewrite of this follow-up, so it was searched together with the previous question."
)
CONTENT_WORD = 4  # letters: shorter words are mostly the ones a rewrite replaces (it, they, that) or may drop
_WORD = re.compile(r"\w+")
_LEAD_IN = re.compile(r"^\s*(?:rewritten question|standalone question|question)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


@dataclass(frozen=True)
class Rewrite:
    query: str
    note: str = ""
    ms: float | None = None


def history(answer: Answer) -> list[Turn]:
    """The turns asked before ``answer`` in its conversation, oldest first, that a follow-up may refer to."""
    if answer.conversation_id is None:
        return []
    earlier = (
        Answer.objects.filter(conversation_id=answer.conversation_id, created_at__lt=answer.created_at)
        .exclude(pk=answer.pk)
        .order_by("-created_at")[:HISTORY_TURNS]
    )
    turns = []
    for turn in reversed(list(earlier)):
        said = _plain(turn.text) if turn.status == Answer.Status.DONE else "(no answer from the documents)"
        turns.append(Turn(question=turn.search_query or turn.question, answer=said[:ANSWER_CHARS]))
    return turns


def _plain(text: str) -> str:
    """An answer without its passage markers, which mean nothing outside its own sources."""
    marked = read_citations(text, passages=0).text
    return " ".join(re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", marked).split())


def rewrite(*, version: PrototypeVersion, turns: Sequence[Turn], question: str) -> Rewrite:
    """``question`` as one that stands alone, given the conversation's ``turns``; unchanged when there are none."""
    if not turns:
        return Rewrite(query=question)
    started = time.perf_counter()
    transcript = "\n".join(f"Question: {t.question}\nAnswer: {t.answer}" for t in turns)
    messages = [
        ("system", REWRITE_SYSTEM),
        ("user", f"Conversation so far:\n{transcript}\n\nLast question: {question}\n\nRewritten question:"),
    ]
    try:
        stream = chat_complete(
            deployment=version.deployment,
            messages=messages,
            caller="rag.rewrite",
            engagement=version.prototype.knowledge_base.engagement,
            temperature=0.0,
            max_tokens=REWRITE_MAX_TOKENS,
            stop=["\n"],
        )
        query = _cleaned(stream.text)
    except ModelEndpointError:
        query = ""
    ms = (time.perf_counter() - started) * 1000
    if not _usable(query, question):
        return Rewrite(query=f"{turns[-1].question} {question}", note=FALLBACK_NOTE, ms=ms)
    return Rewrite(query=query, ms=ms)


def _cleaned(text: str) -> str:
    line = next((line for line in text.splitlines() if line.strip()), "")
    return _LEAD_IN.sub("", line).strip().strip("\"'“”«»").strip()


def _usable(query: str, question: str) -> bool:
    """Whether a rewrite still asks the follow-up: small models often answer it, restate the earlier question
    or drop the one new word that matters ("and for Austria?"), and searching that would find the wrong passages.

    A usable rewrite is a question when the follow-up was one, is not many times longer than the follow-up, keeps
    every name and number of the follow-up (words with a digit, or capitalised after the first word), and at
    least half of its longer words (four letters or more, in any script; the rest are mostly the words a rewrite
    replaces, such as it, they or them).
    """
    if not query or len(query) > max(3 * len(question), len(question) + 200):
        return False
    if question.rstrip().endswith(("?", "？")) and not query.rstrip().endswith(("?", "？")):
        return False
    words = _WORD.findall(question)
    kept = {w.casefold() for w in _WORD.findall(query)}
    names = {
        w.casefold()
        for i, w in enumerate(words)
        if len(w) > 1 and (any(c.isdigit() for c in w) or (i and w[0].isupper()))
    }
    longer = {w.casefold() for w in words if len(w) >= CONTENT_WORD}
    return names <= kept and len(longer & kept) >= len(longer) / 2


def _has_digit(word: str) -> bool:
    return any(c.isdigit() for c in word)


def conversation_for_turn(*, prototype: Prototype, user: Any, uuid: Any) -> Conversation:
    """The asker's own conversation ``uuid`` with this prototype, or a new one when there is none to continue."""
    found = None
    if uuid:
        found = Conversation.objects.filter(uuid=uuid, prototype=prototype, started_by=user).first()
    if found is None:
        return Conversation.objects.create(prototype=prototype, started_by=user)
    if found.turns.count() >= MAX_TURNS:
        raise ValidationError(
            {"question": f"This conversation has {MAX_TURNS} turns, the most one can hold: start a new conversation."}
        )
    return found


@transaction.atomic
def conversation_to_eval_cases(
    *, conversation: Conversation, dataset: EvalDataset | None = None
) -> tuple[EvalDataset, list[EvalCase]]:
    """Each answered turn becomes a draft eval case: its standalone question, the answer given as the reference
    to review, and the documents it cited. Declined turns become drafts without a reference, for the FDE to mark
    answerable or not. Adding a conversation again updates its cases instead of repeating them."""
    kb = conversation.prototype.knowledge_base
    if dataset is None:
        dataset = EvalDataset.objects.filter(knowledge_base=kb, name=CONVERSATIONS_DATASET).first()
        if dataset is None:
            dataset = EvalDataset.objects.create(
                knowledge_base=kb,
                name=CONVERSATIONS_DATASET,
                description="Turns of conversations with the prototypes, to review before they count.",
            )
    elif dataset.knowledge_base_id != kb.pk:
        raise ValidationError("Choose a dataset of the conversation's own knowledge base.")
    turns = conversation.turns.filter(status__in=[Answer.Status.DONE, Answer.Status.ABSTAINED]).order_by("created_at")
    cases = []
    for n, turn in enumerate(turns, start=1):
        answered = turn.status == Answer.Status.DONE
        documents = list(dict.fromkeys(c["external_id"] for c in turn.sources if c.get("external_id")))
        cases.append(
            eval_case_save(
                dataset=dataset,
                external_id=f"conversation-{conversation.uuid.hex[:12]}-{n}",
                question=turn.search_query or turn.question,
                reference_answer=_plain(turn.text) if answered else "",
                relevant_documents=documents if answered else [],
                tags=["conversation", "follow-up" if turn.rewritten else "opening"],
                origin=EvalCase.Origin.CONVERSATION,
                status=EvalCase.Status.DRAFT,
            )
        )
    if not cases:
        raise ValidationError("No turn of this conversation has finished yet: wait for an answer, then add it.")
    return dataset, cases
