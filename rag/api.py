"""REST endpoints for knowledge bases: list them, upload documents, follow ingestion, and search.

Reads are open to anyone who may see the engagement (its team and the client's own users); uploads need the
engagement's team. Anything outside the caller's engagements answers 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Field, File, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from accounts.selectors import user_is_provider
from config.ratelimit import Limit, enforce
from engagements.selectors import engagement_user_can_edit
from rag import selectors
from rag.embeddings import EmbeddingError
from rag.models import IngestionBatch, KnowledgeBase
from rag.rerank import RerankError
from rag.services import ingest
from rag.services.search import SearchError, SearchFilters, search

router = Router(tags=["Knowledge bases"])
SEARCH_UNAVAILABLE = (
    "The search service is not answering right now. The failure is recorded for the engagement team; try again in a "
    "few minutes."
)


class KnowledgeBaseOut(Schema):
    uuid: UUID
    name: str
    description: str
    engagement: UUID
    document_count: int
    ready_count: int
    failed_count: int
    text_search_config: str


class DocumentOut(Schema):
    uuid: UUID
    external_id: str
    title: str
    source: str
    status: str
    error: str
    chunk_count: int
    page_count: int | None
    content_hash: str
    updated_at: datetime


class BatchOut(Schema):
    uuid: UUID
    label: str
    status: str
    progress: int
    total: int
    failed_count: int
    skipped_count: int
    attempts: int
    last_error: str
    current_step: str
    cancel_requested: bool
    queued_at: datetime
    created_at: datetime = Field(description="The same as queued_at, kept for existing callers.")
    finished_at: datetime | None

    @staticmethod
    def resolve_created_at(batch: IngestionBatch) -> datetime:
        return batch.queued_at

    @staticmethod
    def resolve_last_error(batch: IngestionBatch, context: dict[str, Any]) -> str:
        # The full reason may name servers: provider staff read it, a client's users read what happens next.
        return _error_for(batch.last_error, batch.last_error_detail, staff=user_is_provider(context["request"].user))


class SearchIn(Schema):
    query: str
    mode: str = "hybrid"
    top_k: int = 8
    vector_weight: float = 0.75
    keyword_weight: float = 0.25
    rerank: bool = False
    embedding_model: str | None = None
    document_ids: list[UUID] = []
    source_ids: list[UUID] = []
    date_from: datetime | None = None
    date_to: datetime | None = None


class HitOut(Schema):
    rank: int
    chunk_id: int
    text: str
    document_uuid: UUID
    external_id: str
    title: str
    page: int | None
    heading_path: str
    char_start: int
    char_end: int
    vector_score: float | None
    keyword_score: float | None
    fused_score: float
    rerank_score: float | None


class SearchOut(Schema):
    query: str
    mode: str
    embedding_model: str
    reranker: str
    keyword_match: str
    timings: dict[str, float]
    hits: list[HitOut]


def _kb(request: HttpRequest, uuid: UUID) -> KnowledgeBase:
    kb = selectors.knowledge_base_get_for_user(user=request.user, uuid=uuid)
    if kb is None:
        raise Http404("No such knowledge base.")
    return kb


def _kb_out(kb: Any) -> dict[str, Any]:
    return {
        "uuid": kb.uuid,
        "name": kb.name,
        "description": kb.description,
        "engagement": kb.engagement.uuid,
        "document_count": kb.document_count,
        "ready_count": kb.ready_count,
        "failed_count": kb.failed_count,
        "text_search_config": kb.text_search_config,
    }


def _error_for(public: str, detail: str, *, staff: bool) -> str:
    """The full reason (which may name servers) for provider staff; what happens next for a client's users."""
    return detail if staff and detail else public


def _doc_out(doc: Any, *, staff: bool) -> dict[str, Any]:
    return {
        **{f: getattr(doc, f) for f in ("uuid", "external_id", "title", "status", "chunk_count")},
        "error": _error_for(doc.error, doc.error_detail, staff=staff),
        **{f: getattr(doc, f) for f in ("page_count", "content_hash", "updated_at")},
        "source": doc.source.name,
    }


@router.get("/knowledge-bases", response=list[KnowledgeBaseOut])
def list_knowledge_bases(request: HttpRequest) -> list[dict[str, Any]]:
    return [_kb_out(kb) for kb in selectors.knowledge_base_list_for_user(user=request.user)]


@router.get("/knowledge-bases/{uuid}/documents", response=list[DocumentOut])
def list_documents(request: HttpRequest, uuid: UUID, status: str | None = None) -> list[dict[str, Any]]:
    documents = selectors.document_list_for_knowledge_base(knowledge_base=_kb(request, uuid))
    if status:
        documents = documents.filter(status=status)
    staff = user_is_provider(request.user)
    return [_doc_out(d, staff=staff) for d in documents]


@router.post("/knowledge-bases/{uuid}/documents", response={202: BatchOut})
def upload_documents(request: HttpRequest, uuid: UUID, files: File[list[UploadedFile]]) -> Status:
    kb = _kb(request, uuid)
    if not engagement_user_can_edit(engagement=kb.engagement, user=request.user):
        raise HttpError(403, "Only the engagement's team adds documents.")
    enforce(Limit("upload-user", request.user.pk, "Your uploads"))
    batch = ingest.documents_add_files(
        knowledge_base=kb, files=[(f.name or "upload", f.read()) for f in files], actor=request.user
    )
    return Status(202, batch)


@router.get("/batches/{uuid}", response=BatchOut)
def get_batch(request: HttpRequest, uuid: UUID) -> IngestionBatch:
    batch = selectors.batch_get_for_user(user=request.user, uuid=uuid)
    if batch is None:
        raise Http404("No such batch.")
    return batch


@router.post("/knowledge-bases/{uuid}/search", response=SearchOut)
def search_knowledge_base(request: HttpRequest, uuid: UUID, payload: SearchIn) -> dict[str, Any]:
    kb = _kb(request, uuid)
    try:
        response = search(
            knowledge_base=kb,
            query=payload.query,
            mode=payload.mode,
            top_k=payload.top_k,
            weights=(payload.vector_weight, payload.keyword_weight),
            rerank=payload.rerank,
            embedding_model=payload.embedding_model,
            filters=SearchFilters(
                document_ids=list(payload.document_ids),
                source_ids=list(payload.source_ids),
                date_from=payload.date_from,
                date_to=payload.date_to,
            ),
        )
    except SearchError as exc:
        raise HttpError(422, str(exc)) from exc
    except (EmbeddingError, RerankError) as exc:
        # The full reason names the endpoint's address: provider staff read it, a client's users what to do.
        raise HttpError(502, str(exc) if user_is_provider(request.user) else SEARCH_UNAVAILABLE) from exc
    return response.as_dict()
