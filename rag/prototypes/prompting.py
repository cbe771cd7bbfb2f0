"""Prompt building for a prototype version: LangChain prompt templates, numbered passages, a token budget.

The passages that fit the deployment's context window (minus the answer's ``max_tokens``) go in whole, the next
one is cut, the rest are left out; the count of passages cut or left out is shown with the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from langchain_core.prompts import PromptTemplate

from rag.prototypes.retrieval import Passage

VARIABLES = {"question", "context", "kb_name"}
# Without the model's tokenizer at hand, a conservative estimate: tokenizers of current models average three
# or more characters per token on prose, so this overestimates and the prompt stays inside the window.
CHARS_PER_TOKEN = 3
SAFETY_TOKENS = 48
MIN_CUT_CHARS = 200


def estimate_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1


def validate_templates(*, system_prompt: str, user_prompt: str) -> None:
    """Raise a ValidationError naming any unknown variable, or a user prompt without ``{question}``."""
    errors: dict[str, str] = {}
    for field, text in (("system_prompt", system_prompt), ("user_prompt", user_prompt)):
        try:
            variables = set(PromptTemplate.from_template(text).input_variables)
        except (ValueError, KeyError) as exc:
            errors[field] = f"This template cannot be read ({exc}). Write literal braces as {{{{ and }}}}."
            continue
        unknown = variables - VARIABLES
        if unknown:
            errors[field] = (
                f"Unknown variable {', '.join('{' + v + '}' for v in sorted(unknown))}; "
                "use {question}, {context} and {kb_name}."
            )
    if "user_prompt" not in errors and "{question}" not in user_prompt:
        errors["user_prompt"] = "The user prompt must contain {question}, where the question goes."
    if not errors and "{context}" not in system_prompt + user_prompt:
        errors["user_prompt"] = "One of the prompts must contain {context}, where the passages go."
    if errors:
        raise ValidationError(errors)


@dataclass
class BuiltPrompt:
    messages: list[tuple[str, str]]
    passages: list[Passage]
    truncated: int


# Markdown emphasis around the very facts a question asks for ("within **14 calendar days**") throws small models
# off; the passages go to the model as plain words.
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


def plain(text: str) -> str:
    return _EMPHASIS.sub(r"\2", text)


def format_context(passages: Sequence[Passage]) -> str:
    return "\n\n".join(f"[{n}] {p.label}\n{plain(p.text)}" for n, p in enumerate(passages, start=1))


def build_prompt(
    *,
    system_prompt: str,
    user_prompt: str,
    question: str,
    kb_name: str,
    passages: Sequence[Passage],
    context_window: int,
    max_tokens: int,
) -> BuiltPrompt:
    """The chat messages for ``question`` with as many passages as the context window leaves room for."""
    system = PromptTemplate.from_template(system_prompt)
    user = PromptTemplate.from_template(user_prompt)
    empty = system.format(**_values(system, question, kb_name, "")) + user.format(
        **_values(user, question, kb_name, "")
    )
    budget_chars = (context_window - max_tokens - SAFETY_TOKENS - estimate_tokens(empty)) * CHARS_PER_TOKEN
    kept: list[Passage] = []
    for passage in passages:
        cost = len(f"[{len(kept) + 1}] {passage.label}\n") + len(passage.text) + 2
        if cost <= budget_chars:
            kept.append(passage)
            budget_chars -= cost
            continue
        room = budget_chars - (cost - len(passage.text))
        if room >= MIN_CUT_CHARS:
            kept.append(passage.cut(room))
        break
    truncated = len(passages) - len(kept) + sum(1 for p in kept if p.is_cut)
    context = format_context(kept)
    messages = [
        ("system", system.format(**_values(system, question, kb_name, context))),
        ("user", user.format(**_values(user, question, kb_name, context))),
    ]
    return BuiltPrompt(messages=messages, passages=kept, truncated=truncated)


def _values(template: PromptTemplate, question: str, kb_name: str, context: str) -> dict[str, str]:
    values = {"question": question, "kb_name": kb_name, "context": context}
    return {k: v for k, v in values.items() if k in template.input_variables}
