"""The LLM judge: one call per answer scores faithfulness and answer relevance as schema-constrained JSON.

The model is asked for integers from 1 to 5, reported on a 0-1 scale. A reply that is not valid JSON of the
schema is returned as unparseable (``None``) and counted by the eval run, never guessed at or dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deployments.gateway import ModelEndpointError, chat_complete

if TYPE_CHECKING:
    from deployments.models import Deployment

RATIONALE_CHARS = 240
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # Asked first, so the scores follow the judge's reasoning rather than precede it.
        "rationale": {"type": "string", "maxLength": RATIONALE_CHARS},
        "faithfulness": {"type": "integer", "minimum": 1, "maximum": 5},
        "relevance": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["rationale", "faithfulness", "relevance"],
    "additionalProperties": False,
}

JUDGE_SYSTEM = (
    "You grade answers produced by a document question-answering assistant. Reply with JSON only.\n"
    "rationale: one or two sentences on what the answer claims and whether the context supports it.\n"
    "faithfulness: 5 if every claim in the answer is supported by the context, 1 if the answer contradicts "
    "or is unsupported by the context.\n"
    "relevance: 5 if the answer directly addresses the question, 1 if it is off topic."
)

JUDGE_MAX_TOKENS = 120  # the rationale (at most 240 characters) and the two scores
JUDGE_USER = "Context:\n{context}\n\nQuestion: {question}\n\nAnswer: {answer}\n\nGrade the answer."


@dataclass(frozen=True)
class Judgement:
    faithfulness: float
    relevance: float
    rationale: str = ""


def judge_messages(*, question: str, answer: str, context: str, context_chars: int = 3000) -> list[tuple[str, str]]:
    user = JUDGE_USER.format(context=context[:context_chars], question=question, answer=answer)
    return [("system", JUDGE_SYSTEM), ("user", user)]


def _scaled(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 5:
        return None
    return (float(value) - 1) / 4


def parse_judgement(text: str) -> Judgement | None:
    """The judgement in ``text`` on a 0-1 scale, or None when it is not a complete, in-range JSON object."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    faithfulness, relevance = _scaled(data.get("faithfulness")), _scaled(data.get("relevance"))
    if faithfulness is None or relevance is None:
        return None
    rationale = data.get("rationale")
    return Judgement(
        faithfulness=faithfulness,
        relevance=relevance,
        rationale=rationale[:RATIONALE_CHARS] if isinstance(rationale, str) else "",
    )


@dataclass(frozen=True)
class Verdict:
    """One judge call: the judgement (None when the reply could not be read) and the reply or error as written."""

    judgement: Judgement | None
    reply: str


def judge_answer(
    *, deployment: Deployment, question: str, answer: str, context: str, caller: str, engagement: Any = None
) -> Verdict:
    """Ask ``deployment`` to grade ``answer``; an endpoint failure is an unread verdict that says what failed."""
    try:
        stream = chat_complete(
            deployment=deployment,
            messages=judge_messages(question=question, answer=answer, context=context),
            caller=caller,
            engagement=engagement,
            json_schema=JUDGE_SCHEMA,
            max_tokens=JUDGE_MAX_TOKENS,
        )
    except ModelEndpointError as exc:
        return Verdict(judgement=None, reply=str(exc))
    return Verdict(judgement=parse_judgement(stream.text), reply=stream.text)
