"""One question through a prototype version: retrieve, decide whether to abstain, build the prompt, generate.

``run_pipeline`` yields events as they happen so the ask page can stream them and an eval run can collect them;
both record exactly the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from deployments.gateway import ModelEndpointError, chat_stream
from deployments.models import ModelCall
from rag.models import PrototypeVersion
from rag.prototypes import retrieval
from rag.prototypes.citing import match_uncited, read_citations
from rag.prototypes.conversations import Turn, rewrite
from rag.prototypes.loops import looping, without_repeats
from rag.prototypes.prompting import BuiltPrompt, build_prompt
from rag.prototypes.retrieval import Passage, Retrieval

ABSTAIN_TEXT = (
    "The documents do not answer this question: no passage stands out from the rest "
    "(answerability {confidence:.3f}, below this prototype's threshold {threshold:.3f})."
)
# Decoding that keeps a small model from looping: a mild frequency penalty (strong ones garble numbers the answer
# must copy from the passages) and stops where the model would go on to invent the next prompt.
FREQUENCY_PENALTY = 0.3
STOP_SEQUENCES = ("\nQuestion:", "\nContext:", "\n\n\n")
LOOP_NOTE = " [Stopped here: the model began repeating itself.]"
SEARCH_UNAVAILABLE = (
    "The documents could not be searched just now, so no answer was written. The failure is logged for the "
    "engagement team; try again in a few minutes."
)


@dataclass
class Outcome:
    text: str = ""
    abstained: bool = False
    error: str = ""  # what anyone asking may read
    error_detail: str = ""  # what provider staff read: may name endpoints and their hosts
    confidence: float = 0.0
    passages: list[Passage] = field(default_factory=list)
    truncated: int = 0
    looped: bool = False
    cited: list[int] = field(default_factory=list)  # the passage numbers the answer's markers name
    matched: list[int] = field(default_factory=list)  # passages the product pointed to where the model cited none
    messages: list[tuple[str, str]] = field(default_factory=list)  # the prompt as sent
    search_query: str = ""  # what was searched and answered: a follow-up rewritten to stand alone
    search_note: str = ""
    rewrite_ms: float | None = None
    embed_ms: float | None = None
    retrieval_ms: float | None = None
    ttft_ms: float | None = None
    total_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model_call: ModelCall | None = None

    @property
    def citations(self) -> list[dict[str, Any]]:
        return [
            p.as_citation(n) | {"cited": n in self.cited, "matched": n in self.matched}
            for n, p in enumerate(self.passages, start=1)
        ]


@dataclass(frozen=True)
class Event:
    kind: str  # "sources", "token", "abstain", "error" or "done"
    text: str = ""
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Prepared:
    """Everything before generation: the retrieval and, unless the prototype declines, the prompt to send."""

    found: Retrieval
    prompt: BuiltPrompt | None  # None: the prototype declines the question

    @property
    def declined(self) -> bool:
        return self.prompt is None


def prepare(*, version: PrototypeVersion, question: str) -> Prepared:
    """Retrieve, decide whether to abstain and build the prompt, as every answer does; the load test's RAG workload
    sends the same prompts. Raises ``retrieval.RetrievalError`` when the search cannot run."""
    found = retrieval.retrieve(version=version, question=question)
    if not found.passages or found.confidence < version.abstain_below:
        return Prepared(found=found, prompt=None)
    prompt = build_prompt(
        system_prompt=version.system_prompt,
        user_prompt=version.user_prompt,
        question=question,
        kb_name=version.prototype.knowledge_base.name,
        passages=found.passages,
        context_window=version.deployment.context_window,
        max_tokens=version.max_tokens,
    )
    return Prepared(found=found, prompt=prompt)


def run_pipeline(
    *, version: PrototypeVersion, question: str, caller: str, turns: Sequence[Turn] = ()
) -> Iterator[Event]:
    """Yield the answer's events; the last one is always ``done`` with the complete ``Outcome``.

    ``turns`` are the conversation's earlier questions and answers: a follow-up is rewritten with them to stand
    alone, and the rewrite is what is searched and answered.
    """
    started = time.perf_counter()
    outcome = Outcome()
    understood = rewrite(version=version, turns=turns, question=question)
    outcome.search_query, outcome.search_note, outcome.rewrite_ms = understood.query, understood.note, understood.ms
    question = understood.query
    try:
        prepared = prepare(version=version, question=question)
    except retrieval.RetrievalError as exc:
        outcome.error, outcome.error_detail = SEARCH_UNAVAILABLE, f"Retrieval failed: {exc}"
        outcome.total_ms = (time.perf_counter() - started) * 1000
        yield Event("error", text=outcome.error, outcome=outcome)
        yield Event("done", outcome=outcome)
        return
    found, prompt = prepared.found, prepared.prompt
    outcome.embed_ms, outcome.retrieval_ms = found.embed_ms, found.retrieval_ms
    outcome.confidence = found.confidence
    if prompt is None:
        outcome.abstained = True
        outcome.passages = found.passages
        outcome.text = ABSTAIN_TEXT.format(confidence=found.confidence, threshold=version.abstain_below)
        outcome.total_ms = (time.perf_counter() - started) * 1000
        yield Event("abstain", text=outcome.text, outcome=outcome)
        yield Event("done", outcome=outcome)
        return
    kb = version.prototype.knowledge_base
    outcome.passages, outcome.truncated, outcome.messages = prompt.passages, prompt.truncated, prompt.messages
    yield Event("sources", outcome=outcome)
    stream = chat_stream(
        deployment=version.deployment,
        messages=prompt.messages,
        caller=caller,
        engagement=kb.engagement,
        temperature=version.temperature,
        max_tokens=version.max_tokens,
        frequency_penalty=FREQUENCY_PENALTY,
        stop=STOP_SEQUENCES,
    )
    generation_started = time.perf_counter()
    try:
        for piece in stream:
            yield Event("token", text=piece)
            if looping(stream.text):
                stream.stop("loop")
                outcome.looped = True
    except ModelEndpointError as exc:
        outcome.error, outcome.error_detail = exc.public_message, str(exc)
        yield Event("error", text=outcome.error, outcome=outcome)
    text = without_repeats(stream.text) + LOOP_NOTE if outcome.looped else stream.text
    citations = read_citations(text, passages=len(outcome.passages))
    outcome.text, outcome.cited = citations.text, citations.cited
    if not outcome.cited and not outcome.error:
        outcome.text, outcome.matched = match_uncited(outcome.text, [p.text for p in outcome.passages])
    outcome.model_call = stream.call
    outcome.prompt_tokens = stream.stats.prompt_tokens
    outcome.completion_tokens = stream.stats.completion_tokens
    if stream.stats.ttft_ms is not None:
        # measured from the question, as the person asking experiences it
        outcome.ttft_ms = (generation_started - started) * 1000 + stream.stats.ttft_ms
    outcome.total_ms = (time.perf_counter() - started) * 1000
    yield Event("done", outcome=outcome)


def run_to_end(*, version: PrototypeVersion, question: str, caller: str) -> Outcome:
    for event in run_pipeline(version=version, question=question, caller=caller):
        if event.kind == "done" and event.outcome is not None:
            return event.outcome
    raise RuntimeError("the pipeline ended without an outcome")  # pragma: no cover
