"""The LLM judge: one call per answer scores faithfulness and answer relevance as schema-constrained JSON.

The model is asked for integers from 1 to 5, reported on a 0-1 scale. A reply that is not valid JSON of the
schema is returned as unparseable (``None``) and counted by the eval run, never guessed at or dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "faithfulness": {"type": "integer", "minimum": 1, "maximum": 5},
        "relevance": {"type": "integer", "minimum": 1, "maximum": 5},
    },
    "required": ["faithfulness", "relevance"],
    "additionalProperties": False,
}

JUDGE_SYSTEM = (
    "You grade answers produced by a document question-answering assistant. Reply with JSON only.\n"
    "faithfulness: 5 if every claim in the answer is supported by the context, 1 if the answer contradicts "
    "or is unsupported by the context.\n"
    "relevance: 5 if the answer directly addresses the question, 1 if it is off topic."
)

JUDGE_USER = "Context:\n{context}\n\nQuestion: {question}\n\nAnswer: {answer}\n\nGrade the answer."


@dataclass(frozen=True)
class Judgement:
    faithfulness: float
    relevance: float


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
    return Judgement(faithfulness=faithfulness, relevance=relevance)
