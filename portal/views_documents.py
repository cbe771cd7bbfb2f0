"""Document sharing: a client's users see their engagements' knowledge bases; their admins upload into them.

Uploads go through the same ingestion service and checks as the workspace's (``rag.services.ingest``), under the
same per-user upload rate limit; every lookup is scoped by the user, so another client's base is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from accounts.selectors import client_user_can_manage, user_is_provider
from config.ratelimit import Limit, enforce
from engagements.selectors import engagement_user_can_edit
from rag import selectors
from rag.forms import UploadForm
from rag.models import Document, IngestionBatch, KnowledgeBase
from rag.services import ingest

BATCH = "portal/_batch.html"
DOCUMENTS_SHOWN = 200


def _get_kb(request: HttpRequest, uuid: Any, *, upload: bool = False) -> KnowledgeBase:
    kb = selectors.knowledge_base_get_for_user(user=request.user, uuid=uuid)
    if kb is None:
        raise Http404("No such knowledge base.")
    if upload and not _may_upload(request, kb):
        raise PermissionDenied("Only your organisation's admins share documents.")
    return kb


def _may_upload(request: HttpRequest, kb: KnowledgeBase) -> bool:
    if user_is_provider(request.user):
        return engagement_user_can_edit(engagement=kb.engagement, user=request.user)
    return client_user_can_manage(client=kb.engagement.client, user=request.user)


@login_required
def documents(request: HttpRequest) -> HttpResponse:
    kbs = selectors.knowledge_base_list_for_user(user=request.user)
    if user_is_provider(request.user):
        kbs = kbs.filter(engagement__client__slug=request.GET.get("client", ""))
    return render(request, "portal/documents.html", {"kbs": kbs})


def _kb_context(request: HttpRequest, kb: KnowledgeBase, **extra: Any) -> dict[str, Any]:
    docs = list(selectors.document_list_for_knowledge_base(knowledge_base=kb)[:DOCUMENTS_SHOWN])
    in_flight = any(d.status in {Document.Status.PENDING, Document.Status.PROCESSING} for d in docs)
    return {"kb": kb, "documents": docs, "in_flight": in_flight, "brand_client": kb.engagement.client, **extra}


@login_required
def knowledge_base(request: HttpRequest, uuid: Any) -> HttpResponse:
    kb = _get_kb(request, uuid)
    context = _kb_context(
        request,
        kb,
        batch=selectors.batch_latest(knowledge_base=kb),
        can_upload=_may_upload(request, kb),
        form=UploadForm(),
    )
    return render(request, "portal/knowledge_base.html", context)


@login_required
def knowledge_base_documents(request: HttpRequest, uuid: Any) -> HttpResponse:
    return render(request, "portal/_documents.html", _kb_context(request, _get_kb(request, uuid)))


@login_required
@require_POST
def upload(request: HttpRequest, uuid: Any) -> HttpResponse:
    kb = _get_kb(request, uuid, upload=True)
    enforce(Limit("upload-user", request.user.pk, "Your uploads"))
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, BATCH, {"upload_error": "Choose at least one file or .zip archive."})
    files = [(f.name or "upload", f.read()) for f in form.cleaned_data["documents"]]
    batch = ingest.documents_add_files(knowledge_base=kb, files=files, actor=request.user)
    return trigger_client_event(render(request, BATCH, {"batch": batch}), "documents-changed")


def _get_batch(request: HttpRequest, uuid: Any) -> IngestionBatch:
    batch = selectors.batch_get_for_user(user=request.user, uuid=uuid)
    if batch is None:
        raise Http404("No such upload.")
    return batch


@login_required
def batch_status(request: HttpRequest, uuid: Any) -> HttpResponse:
    batch = _get_batch(request, uuid)
    if batch.is_active or not request.htmx:  # type: ignore[attr-defined]
        return render(request, BATCH, {"batch": batch})
    # Finished: htmx stops polling on 286, and the documents list refreshes once.
    response = HttpResponseStopPolling(render_to_string(BATCH, {"batch": batch}, request=request))
    return trigger_client_event(response, "documents-changed")
