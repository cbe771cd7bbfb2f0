"""The FDE's knowledge-base pages: list and create, a base's documents and ingestion, chunk inspector, playground."""

from __future__ import annotations

from datetime import datetime, time
from itertools import groupby
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from accounts.decorators import provider_required
from config.ratelimit import Limit, enforce
from engagements.selectors import engagement_list_for_user, engagement_user_can_edit
from rag import selectors
from rag.embeddings import EmbeddingError
from rag.forms import (
    ChunkEditForm,
    EmbeddingEndpointForm,
    KnowledgeBaseForm,
    SearchForm,
    SqlSourceForm,
    UploadForm,
)
from rag.models import Chunk, Document, IngestionBatch, KnowledgeBase
from rag.rerank import RerankError
from rag.services import chunks as chunk_services
from rag.services import ingest
from rag.services.knowledge_base import knowledge_base_create, knowledge_base_index_with_endpoint
from rag.services.search import SearchError, SearchFilters, search


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _get_kb(request: HttpRequest, uuid: str, *, edit: bool = False) -> KnowledgeBase:
    kb = selectors.knowledge_base_get_for_user(user=request.user, uuid=uuid)
    if kb is None:
        raise Http404("No such knowledge base.")
    if edit and not engagement_user_can_edit(engagement=kb.engagement, user=request.user):
        raise PermissionDenied("Only the engagement's team changes its knowledge bases.")
    return kb


def _editable_engagements(request: HttpRequest) -> Any:
    engagements = engagement_list_for_user(user=request.user)
    if request.user.is_superuser:
        return engagements
    return engagements.filter(assignments__user_id=request.user.pk or 0)


@provider_required
def index(request: HttpRequest) -> HttpResponse:
    form = KnowledgeBaseForm(request.POST or None, engagements=_editable_engagements(request))
    if request.method == "POST" and form.is_valid():
        kb = knowledge_base_create(actor=request.user, **form.cleaned_data)
        messages.success(request, f"Knowledge base “{kb.name}” created. Add documents to it.")
        return redirect("rag:kb-detail", uuid=kb.uuid)
    bases = selectors.knowledge_base_list_for_user(user=request.user)
    groups = [(engagement, list(items)) for engagement, items in groupby(bases, key=lambda kb: kb.engagement)]
    return render(request, "rag/index.html", {"groups": groups, "form": form})


def _detail_context(request: HttpRequest, kb: KnowledgeBase) -> dict[str, Any]:
    return {
        "kb": kb,
        "stats": selectors.knowledge_base_stats(knowledge_base=kb),
        "documents": selectors.document_list_for_knowledge_base(knowledge_base=kb),
        "sources": selectors.source_list_for_knowledge_base(knowledge_base=kb),
        "batch": selectors.batch_latest(knowledge_base=kb),
        "can_edit": engagement_user_can_edit(engagement=kb.engagement, user=request.user),
    }


@provider_required
def kb_detail(request: HttpRequest, uuid: str) -> HttpResponse:
    kb = _get_kb(request, uuid)
    context = _detail_context(request, kb)
    context.update(upload_form=UploadForm(), sql_form=SqlSourceForm(), embedding_form=EmbeddingEndpointForm())
    return render(request, "rag/kb_detail.html", context)


@provider_required
def kb_documents(request: HttpRequest, uuid: str) -> HttpResponse:
    kb = _get_kb(request, uuid)
    return render(request, "rag/_documents.html", _detail_context(request, kb))


def _batch_response(request: HttpRequest, batch: IngestionBatch, *, changed: bool = False) -> HttpResponse:
    response = render(request, "rag/_batch.html", {"batch": batch})
    if changed or not batch.is_active:
        trigger_client_event(response, IngestionBatch.finished_event)
    return response


@provider_required
@require_POST
def kb_upload(request: HttpRequest, uuid: str) -> HttpResponse:
    kb = _get_kb(request, uuid, edit=True)
    enforce(Limit("upload-user", request.user.pk, "Your uploads"))
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "rag/_batch.html", {"upload_error": "Choose at least one file or .zip archive."})
    files = [(f.name or "upload", f.read()) for f in form.cleaned_data["documents"]]
    batch = ingest.documents_add_files(knowledge_base=kb, files=files, actor=request.user)
    return _batch_response(request, batch, changed=True)


@provider_required
@require_POST
def document_retry(request: HttpRequest, uuid: str) -> HttpResponse:
    document = _get_document(request, uuid, edit=True)
    batch = ingest.document_retry(document=document, actor=request.user)
    return _batch_response(request, batch, changed=True)


@provider_required
@require_POST
def source_sync(request: HttpRequest, uuid: str) -> HttpResponse:
    source = selectors.source_get_for_user(user=request.user, uuid=uuid)
    if source is None:
        raise Http404("No such source.")
    _get_kb(request, str(source.knowledge_base.uuid), edit=True)
    batch = ingest.source_sync(source=source, actor=request.user)
    return _batch_response(request, batch, changed=True)


@provider_required
@require_POST
def sql_source_create(request: HttpRequest, uuid: str) -> HttpResponse:
    kb = _get_kb(request, uuid, edit=True)
    form = SqlSourceForm(request.POST)
    if form.is_valid():
        try:
            source = ingest.source_create_sql(knowledge_base=kb, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            ingest.source_sync(source=source, actor=request.user)
            messages.success(request, f"SQL source “{source.name}” added; its first sync is running.")
    else:
        messages.error(
            request,
            "The SQL source was not added: "
            + "; ".join(f"{field}: {', '.join(str(e) for e in errors)}" for field, errors in form.errors.items()),
        )
    return redirect("rag:kb-detail", uuid=kb.uuid)


@provider_required
@require_POST
def embedding_endpoint_add(request: HttpRequest, uuid: str) -> HttpResponse:
    kb = _get_kb(request, uuid, edit=True)
    form = EmbeddingEndpointForm(request.POST)
    if form.is_valid():
        model = knowledge_base_index_with_endpoint(knowledge_base=kb, actor=request.user, **form.cleaned_data)
        messages.success(request, f"“{model.label}” added; every document is being re-embedded with it.")
    else:
        errors = "; ".join(f"{field}: {', '.join(str(e) for e in errs)}" for field, errs in form.errors.items())
        messages.error(request, f"The embedding model was not added: {errors}")
    return redirect("rag:kb-detail", uuid=kb.uuid)


def _get_document(request: HttpRequest, uuid: str, *, edit: bool = False) -> Document:
    document = selectors.document_get_for_user(user=request.user, uuid=uuid)
    if document is None:
        raise Http404("No such document.")
    if edit and not engagement_user_can_edit(engagement=document.knowledge_base.engagement, user=request.user):
        raise PermissionDenied("Only the engagement's team changes its knowledge bases.")
    return document


@provider_required
def document_chunks(request: HttpRequest, uuid: str) -> HttpResponse:
    document = _get_document(request, uuid)
    chunks = selectors.chunk_list_for_document(document=document)
    can_edit = engagement_user_can_edit(engagement=document.knowledge_base.engagement, user=request.user)
    return render(request, "rag/document.html", {"document": document, "chunks": chunks, "can_edit": can_edit})


def _get_chunk_for_edit(request: HttpRequest, uuid: str, index: int) -> Chunk:
    document = _get_document(request, uuid, edit=True)
    chunk = selectors.chunk_list_for_document(document=document).filter(index=index).first()
    if chunk is None:
        raise Http404("No such chunk.")
    return chunk


@provider_required
@require_POST
def chunk_toggle(request: HttpRequest, uuid: str, index: int) -> HttpResponse:
    chunk = _get_chunk_for_edit(request, uuid, index)
    chunk = chunk_services.chunk_set_disabled(chunk=chunk, disabled=not chunk.is_disabled)
    return render(request, "rag/_chunk.html", {"chunk": chunk, "can_edit": True})


@provider_required
@require_POST
def chunk_edit(request: HttpRequest, uuid: str, index: int) -> HttpResponse:
    chunk = _get_chunk_for_edit(request, uuid, index)
    form = ChunkEditForm(request.POST)
    error = ""
    if form.is_valid():
        chunk = chunk_services.chunk_update_text(chunk=chunk, text=form.cleaned_data["text"])
    else:
        error = "The text cannot be empty."
    return render(request, "rag/_chunk.html", {"chunk": chunk, "can_edit": True, "error": error})


def _filters(data: dict[str, Any]) -> SearchFilters:
    day = timezone.get_current_timezone()
    start = datetime.combine(data["date_from"], time.min, day) if data.get("date_from") else None
    end = datetime.combine(data["date_to"], time.max, day) if data.get("date_to") else None
    return SearchFilters(source_ids=[data["source"]] if data.get("source") else [], date_from=start, date_to=end)


@provider_required
def playground(request: HttpRequest, uuid: str) -> HttpResponse:
    kb = _get_kb(request, uuid)
    form = SearchForm(request.GET or None, knowledge_base=kb)
    context: dict[str, Any] = {"kb": kb, "form": form}
    if form.is_valid():
        data = form.cleaned_data
        try:
            context["response"] = search(
                knowledge_base=kb,
                query=data["query"],
                mode=data["mode"],
                top_k=data["top_k"],
                weights=(data["vector_weight"], data["keyword_weight"]),
                rerank=data["rerank"],
                embedding_model=data["embedding_model"] or None,
                filters=_filters(data),
            )
        except (SearchError, EmbeddingError, RerankError) as exc:
            context["error"] = str(exc)
    template = "rag/_results.html" if _is_htmx(request) else "rag/playground.html"
    return render(request, template, context)
