"""REST endpoints for prototypes: list them, ask one a question (the whole answer at once), read an eval run.

Scoped like the pages: the engagement's team and the client's own users see its prototypes; anything else is 404.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from accounts.selectors import user_is_provider
from rag.prototypes import selectors, services

router = Router(tags=["Prototypes"])


class PrototypeOut(Schema):
    uuid: UUID
    name: str
    knowledge_base: UUID
    engagement: UUID
    latest_version: int


class QuestionIn(Schema):
    question: str
    conversation: UUID | None = Field(
        None, description="Continue this conversation (from an earlier answer): the question is read as a follow-up."
    )


class AnswerOut(Schema):
    uuid: UUID
    version: int
    question: str
    conversation: UUID | None
    search_query: str = Field(description="What was searched and answered: a follow-up rewritten to stand alone.")
    status: str
    text: str
    error: str
    confidence: float | None
    citations: list[dict[str, Any]]
    timings_ms: dict[str, float | None]
    prompt_tokens: int | None
    completion_tokens: int | None


class RunOut(Schema):
    uuid: UUID
    prototype: UUID
    version: int
    dataset: str
    status: str
    progress: int
    total: int
    is_baseline: bool
    metrics: dict[str, Any]


@router.get("/", response=list[PrototypeOut])
def prototype_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "uuid": p.uuid,
            "name": p.name,
            "knowledge_base": p.knowledge_base.uuid,
            "engagement": p.knowledge_base.engagement.uuid,
            "latest_version": p.version_count,  # type: ignore[attr-defined]
        }
        for p in selectors.prototype_list_for_user(user=request.user)
    ]


@router.post("/{uuid}/answers", response=AnswerOut)
def prototype_answer(request: HttpRequest, uuid: UUID, payload: QuestionIn) -> dict[str, Any]:
    """Answer a question with the prototype's latest version; the body holds the whole answer and its citations."""
    prototype = selectors.prototype_get_for_user(user=request.user, uuid=uuid)
    if prototype is None:
        raise Http404("No such prototype.")
    try:
        answer = services.answer_ask(
            prototype=prototype, question=payload.question, user=request.user, conversation=payload.conversation
        )
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages)) from exc
    services.answer_claim(answer=answer)
    for _ in services.answer_generate(answer=answer, caller="rag.api"):
        pass
    answer.refresh_from_db()
    return {
        "uuid": answer.uuid,
        "version": answer.version.number,
        "question": answer.question,
        "conversation": answer.conversation.uuid if answer.conversation else None,
        "search_query": answer.search_query,
        "status": answer.status,
        "text": answer.text,
        "error": answer.error_detail if user_is_provider(request.user) and answer.error_detail else answer.error,
        "confidence": answer.confidence,
        "citations": answer.citations,
        "timings_ms": {
            "embedding": answer.embed_ms,
            "rewrite": answer.rewrite_ms,
            "retrieval": answer.retrieval_ms,
            "first_token": answer.ttft_ms,
            "total": answer.total_ms,
        },
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
    }


@router.get("/runs/{uuid}", response=RunOut)
def eval_run(request: HttpRequest, uuid: UUID) -> dict[str, Any]:
    run = selectors.run_get_for_user(user=request.user, uuid=uuid)
    if run is None:
        raise Http404("No such eval run.")
    return {
        "uuid": run.uuid,
        "prototype": run.version.prototype.uuid,
        "version": run.version.number,
        "dataset": run.dataset.name,
        "status": run.status,
        "progress": run.progress,
        "total": run.total,
        "is_baseline": run.is_baseline,
        "metrics": run.metrics,
    }
