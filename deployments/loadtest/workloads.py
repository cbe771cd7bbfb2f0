"""The prompts a load test sends: synthetic ones of chosen lengths, ones sharing a long prefix, the questions
people actually asked the engagement's prototypes, or an eval dataset's questions through a prototype's whole RAG
pipeline (retrieval, the abstention decision and prompt building, exactly as the ask page runs them).

Synthetic text is drawn, with the run's seed, from a vocabulary of common short English words, each of which is one
token for the usual BPE tokenizers, so ``n`` words come out close to ``n`` tokens; the server's own count
(``prompt_tokens`` from its usage report) is what each request records.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from deployments.loadtest.engine import Deferred, Prompt

if TYPE_CHECKING:
    from rag.models import PrototypeVersion

# One word, one token for the usual BPE tokenizers.
_VOCABULARY = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have "
    "an they you were her she there can all their one been has more if will would so what when no who "
    "out up about into than them some time could very two these may first then do any like my now over "
    "such our man me even most made after also did many before must through back years where much your "
    "way well down should because each just those people how too little state good very make world still "
    "own see men work long get here between both life being under never day same another know while last "
    "might us great old year off come since against go came right used take three"
)
WORDS = _VOCABULARY.split()


def _length(rng: random.Random, mean: int, sd: int) -> int:
    return max(1, round(rng.gauss(mean, sd))) if sd else mean


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, k=n))


def synthetic(
    *, seed: int, input_tokens: int, input_sd: int, output_tokens: int, output_sd: int, fixed_output: bool
) -> Iterator[Prompt]:
    rng = random.Random(seed)
    while True:
        text = _text(rng, _length(rng, input_tokens, input_sd))
        yield Prompt(
            messages=[{"role": "user", "content": text}],
            max_tokens=_length(rng, output_tokens, output_sd),
            fixed_output=fixed_output,
        )


def shared_prefix(
    *, seed: int, prefix_tokens: int, input_tokens: int, input_sd: int, output_tokens: int, output_sd: int,
    fixed_output: bool,
) -> Iterator[Prompt]:  # fmt: skip
    """Every prompt starts with the same system text of ``prefix_tokens`` words; a prefix-caching server computes it
    once. Compare with a synthetic run of the same total length to see what the cache is worth."""
    rng = random.Random(seed)
    system = _text(random.Random(seed ^ 0x5EED), prefix_tokens)
    while True:
        yield Prompt(
            messages=[
                {"role": "system", "content": system},
                {"role": "user", "content": _text(rng, _length(rng, input_tokens, input_sd))},
            ],
            max_tokens=_length(rng, output_tokens, output_sd),
            fixed_output=fixed_output,
        )


def _shuffled(questions: list[str], seed: int) -> Iterator[tuple[random.Random, str]]:
    """The questions in a seeded shuffle, over and over, each with the generator that drew the order."""
    rng = random.Random(seed)
    order = list(questions)
    rng.shuffle(order)
    for question in itertools.cycle(order):
        yield rng, question


def replay(
    *, questions: list[str], seed: int, output_tokens: int, output_sd: int, fixed_output: bool
) -> Iterator[Prompt]:
    """The logged questions in a seeded shuffle, over and over."""
    if not questions:
        raise ValueError("there are no logged questions to replay: ask the engagement's prototypes first")
    for rng, question in _shuffled(questions, seed):
        yield Prompt(
            messages=[{"role": "user", "content": question}],
            max_tokens=_length(rng, output_tokens, output_sd),
            fixed_output=fixed_output,
        )


def rag_pipeline(
    *, version: PrototypeVersion, questions: list[str], seed: int, output_tokens: int, output_sd: int,
    fixed_output: bool,
) -> Iterator[Deferred]:  # fmt: skip
    """The dataset's questions in a seeded shuffle, over and over, each built into the prompt the prototype would
    send; the engine runs that (database and embedding work) in its threads and times it as retrieval."""
    if not questions:
        raise ValueError("the eval dataset has no ready cases to ask: add or approve some first")
    for rng, question in _shuffled(questions, seed):
        max_tokens = _length(rng, output_tokens, output_sd)
        yield Deferred(build=functools.partial(_rag_prompt, version, question, max_tokens, fixed_output))


def _rag_prompt(version: PrototypeVersion, question: str, max_tokens: int, fixed_output: bool) -> Prompt | None:
    from rag.prototypes.pipeline import prepare

    prepared = prepare(version=version, question=question)
    if prepared.prompt is None:
        return None  # the prototype declines: the person gets its decline, and the deployment no request
    messages = [{"role": role, "content": text} for role, text in prepared.prompt.messages]
    return Prompt(messages=messages, max_tokens=max_tokens, fixed_output=fixed_output)


def prompts_for(run: Any) -> Iterator[Prompt] | Iterator[Deferred]:
    """The prompt stream a ``LoadTest`` row asks for."""
    lengths = {
        "seed": run.seed,
        "output_tokens": run.output_tokens,
        "output_sd": run.output_tokens_sd,
        "fixed_output": run.fixed_output,
    }
    if run.workload == "replay":
        from deployments.loadtest.selectors import logged_questions

        return replay(questions=logged_questions(engagement=run.engagement), **lengths)
    if run.workload == "rag":
        from deployments.loadtest.selectors import rag_workload_inputs

        version, questions = rag_workload_inputs(run=run)
        return rag_pipeline(version=version, questions=questions, **lengths)
    if run.workload == "shared_prefix":
        return shared_prefix(
            prefix_tokens=run.prefix_tokens, input_tokens=run.input_tokens, input_sd=run.input_tokens_sd, **lengths
        )
    return synthetic(input_tokens=run.input_tokens, input_sd=run.input_tokens_sd, **lengths)
