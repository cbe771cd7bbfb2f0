"""Writes for prototypes, their versions and answers (eval datasets and runs live in ``rag.prototypes.evals``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from config.ratelimit import Limit, enforce
from rag.embeddings import E5_MODEL_NAME
from rag.models import Answer, Conversation, Prototype, PrototypeVersion
from rag.prototypes.conversations import conversation_for_turn, history
from rag.prototypes.pipeline import Event, run_pipeline
from rag.prototypes.prompting import validate_templates
from rag.prototypes.selectors import prototype_latest_version

# The settings a version snapshots; everything else on a version is bookkeeping.
CONFIG_FIELDS = [
    "embedding_model",
    "retrieval_mode",
    "vector_weight",
    "keyword_weight",
    "top_k",
    "rerank",
    "system_prompt",
    "user_prompt",
    "deployment",
    "temperature",
    "max_tokens",
    "abstain_below",
]
MAX_QUESTION_CHARS = 2000
# Settings measured per embedding model (bench/README.md) where the model defaults do not suit it: E5's similarities
# sit in a narrow band, so it needs more weight on meaning and a much lower answerability threshold.
MODEL_DEFAULTS: dict[str, dict[str, float]] = {
    E5_MODEL_NAME: {"vector_weight": 0.85, "keyword_weight": 0.15, "abstain_below": 0.0129},
}


@transaction.atomic
def prototype_create(
    *, knowledge_base: Any, name: str, description: str = "", user: Any = None, **config: Any
) -> Prototype:
    """Create a prototype and its version 1 from ``config`` (see ``CONFIG_FIELDS``; unset fields take defaults)."""
    prototype = Prototype(knowledge_base=knowledge_base, name=name, description=description, created_by=user)
    prototype.full_clean()
    prototype.save()
    model = config.get("embedding_model")
    for field, value in MODEL_DEFAULTS.get(getattr(model, "model_name", ""), {}).items():
        config.setdefault(field, value)
    prototype_version_save(prototype=prototype, user=user, note="First version", **config)
    return prototype


@transaction.atomic
def prototype_version_save(
    *, prototype: Prototype, user: Any = None, note: str = "", **config: Any
) -> PrototypeVersion:
    """Save a new version of ``prototype``: the latest version's settings overridden by ``config``."""
    unknown = set(config) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"not prototype settings: {sorted(unknown)}")
    # Lock the prototype row so two saves at once cannot take the same version number.
    Prototype.objects.select_for_update().filter(pk=prototype.pk).first()
    latest = prototype.versions.order_by("-number").first()
    values = {f: getattr(latest, f) for f in CONFIG_FIELDS} if latest else {}
    values.update(config)
    number = (prototype.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = PrototypeVersion(prototype=prototype, number=number, note=note, created_by=user, **values)
    version.full_clean(exclude=["prototype"])
    validate_templates(system_prompt=version.system_prompt, user_prompt=version.user_prompt)
    _check_embedding_model(version)
    version.save()
    return version


def _check_embedding_model(version: PrototypeVersion) -> None:
    kb = version.prototype.knowledge_base
    if not kb.embedding_models.filter(pk=version.embedding_model_id).exists():
        raise ValidationError(
            {"embedding_model": f"The knowledge base {kb.name} is not indexed with {version.embedding_model}."}
        )


@transaction.atomic
def prototype_clone(*, version: PrototypeVersion, name: str, user: Any = None, **config: Any) -> Prototype:
    """Start variant B: a new prototype whose version 1 copies ``version`` with ``config`` changed."""
    values = {f: getattr(version, f) for f in CONFIG_FIELDS}
    values.update(config)
    prototype = Prototype(
        knowledge_base=version.prototype.knowledge_base,
        name=name,
        description=f"Variant of {version}",
        cloned_from=version,
        created_by=user,
    )
    prototype.full_clean()
    prototype.save()
    prototype_version_save(prototype=prototype, user=user, note=f"Cloned from {version}", **values)
    return prototype


@transaction.atomic
def answer_create(
    *, version: PrototypeVersion, question: str, user: Any = None, conversation: Conversation | None = None
) -> Answer:
    """A pending answer, streamed by the ask page; in ``conversation`` it follows that conversation's turns."""
    question = " ".join(question.split())
    if not question:
        raise ValidationError({"question": "Type a question first."})
    if len(question) > MAX_QUESTION_CHARS:
        raise ValidationError(
            {"question": f"Questions are limited to {MAX_QUESTION_CHARS} characters; this one has {len(question)}."}
        )
    if user is not None:
        client = version.prototype.knowledge_base.engagement.client
        enforce(
            Limit("ask-user", user.pk, "Your questions"),
            Limit("ask-client", client.pk, f"Questions to {client.name}'s prototypes"),
        )
    if conversation is not None and conversation.prototype_id != version.prototype_id:
        raise ValidationError("That conversation is with another prototype: start a new one.")
    answer = Answer(version=version, question=question, asked_by=user, conversation=conversation)
    answer.full_clean()
    answer.save()
    if conversation is not None:
        conversation.save(update_fields=["updated_at"])
    return answer


@transaction.atomic
def answer_ask(*, prototype: Prototype, question: str, user: Any, conversation: Any = None) -> Answer:
    """Ask ``prototype``'s latest version: a follow-up in the asker's conversation ``conversation`` (a uuid) when
    it is theirs, else the first turn of a new one."""
    return answer_create(
        version=prototype_latest_version(prototype=prototype),
        question=question,
        user=user,
        conversation=conversation_for_turn(prototype=prototype, user=user, uuid=conversation),
    )


def answer_claim(*, answer: Answer) -> bool:
    """Take a pending answer for generation; False when another request already took it."""
    return Answer.objects.filter(pk=answer.pk, status=Answer.Status.PENDING).update(status=Answer.Status.RUNNING) == 1


def answer_generate(*, answer: Answer, caller: str = "rag.ask") -> Iterator[Event]:
    """Run a claimed answer through its version's pipeline, yield the events and store the outcome at the end."""
    outcome = None
    try:
        turns = history(answer)
        for event in run_pipeline(version=answer.version, question=answer.question, caller=caller, turns=turns):
            if event.kind == "done":
                outcome = event.outcome
            yield event
    finally:
        _answer_record(answer=answer, outcome=outcome)


def _answer_record(*, answer: Answer, outcome: Any) -> None:
    if outcome is None:
        answer.status = Answer.Status.FAILED
        answer.error = answer.error or "The answer was interrupted before it finished."
    else:
        answer.status = (
            Answer.Status.FAILED
            if outcome.error
            else Answer.Status.ABSTAINED
            if outcome.abstained
            else Answer.Status.DONE
        )
        answer.text, answer.error, answer.confidence = outcome.text, outcome.error, outcome.confidence
        answer.error_detail = outcome.error_detail
        answer.citations, answer.chunks_truncated = outcome.citations, outcome.truncated
        answer.embed_ms, answer.retrieval_ms = outcome.embed_ms, outcome.retrieval_ms
        answer.ttft_ms, answer.total_ms = outcome.ttft_ms, outcome.total_ms
        answer.prompt_tokens, answer.completion_tokens = outcome.prompt_tokens, outcome.completion_tokens
        answer.model_call = outcome.model_call
        answer.search_query, answer.search_note = outcome.search_query, outcome.search_note
        answer.rewrite_ms = outcome.rewrite_ms
    answer.save()
