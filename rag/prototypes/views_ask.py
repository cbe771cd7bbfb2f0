"""FDE pages for prototypes: the list, a prototype with its ask panel, versions and clones, answers and citations."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from engagements.selectors import engagement_list_for_user, engagement_user_can_edit
from rag import originals
from rag.models import Answer, Chunk, EvalRun, KnowledgeBase, Prototype
from rag.parsers import ParseError
from rag.prototypes import selectors, services
from rag.prototypes.feedback import feedback_create
from rag.prototypes.forms import AskForm, CloneForm, FeedbackForm, PrototypeCreateForm, VersionForm
from rag.prototypes.sse import answer_stream_response

ANSWER_TEMPLATE = "rag/prototypes/_answer.html"


def _prototype(request: HttpRequest, uuid: Any) -> Prototype:
    prototype = selectors.prototype_get_for_user(user=request.user, uuid=uuid)
    if prototype is None:
        raise Http404("No such prototype.")
    return prototype


def _editable(request: HttpRequest, prototype: Prototype) -> Prototype:
    if not engagement_user_can_edit(engagement=prototype.knowledge_base.engagement, user=request.user):
        raise Http404("Only the engagement's team changes its prototypes.")
    return prototype


def _answer(request: HttpRequest, uuid: Any) -> Answer:
    answer = selectors.answer_get_for_user(user=request.user, uuid=uuid)
    if answer is None:
        raise Http404("No such answer.")
    return answer


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@provider_required
def prototype_list(request: HttpRequest) -> HttpResponse:
    prototypes = selectors.prototype_list_for_user(user=request.user)
    return render(request, "rag/prototypes/list.html", {"prototypes": prototypes})


@provider_required
def prototype_create(request: HttpRequest) -> HttpResponse:
    kbs = KnowledgeBase.objects.filter(engagement__in=engagement_list_for_user(user=request.user))
    form = PrototypeCreateForm(request.POST or None, knowledge_bases=kbs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not engagement_user_can_edit(engagement=data["knowledge_base"].engagement, user=request.user):
            form.add_error("knowledge_base", "Only the engagement's team can add prototypes to it.")
        else:
            try:
                prototype = services.prototype_create(
                    knowledge_base=data["knowledge_base"],
                    name=data["name"],
                    description=data["description"],
                    user=request.user,
                    deployment=data["deployment"],
                    embedding_model=data["knowledge_base"].embedding_models.first(),
                )
                return redirect("rag:prototype", uuid=prototype.uuid)
            except ValidationError as exc:
                _form_errors(form, exc)
    return render(request, "rag/prototypes/create.html", {"form": form})


@provider_required
def prototype_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    prototype = _prototype(request, uuid)
    version = selectors.prototype_latest_version(prototype=prototype)
    context = {
        "prototype": prototype,
        "version": version,
        "versions": prototype.versions.select_related("created_by"),
        "answers": selectors.answer_list_for_user(user=request.user).filter(version__prototype=prototype)[:10],
        "conversations": selectors.conversation_list_for_user(user=request.user).filter(prototype=prototype)[:10],
        "runs": EvalRun.objects.filter(version__prototype=prototype)
        .select_related("dataset", "version")
        .order_by("-queued_at")[:10],
        "ask_form": AskForm(),
        "clone_form": CloneForm(),
        "can_edit": engagement_user_can_edit(engagement=prototype.knowledge_base.engagement, user=request.user),
    }
    return render(request, "rag/prototypes/detail.html", context)


@provider_required
def version_create(request: HttpRequest, uuid: Any) -> HttpResponse:
    prototype = _editable(request, _prototype(request, uuid))
    latest = selectors.prototype_latest_version(prototype=prototype)
    form = VersionForm(
        request.POST or None, instance=None if request.POST else latest, knowledge_base=prototype.knowledge_base
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.prototype_version_save(
                prototype=prototype, user=request.user, note=form.cleaned_data["note"], **form.config()
            )
            messages.success(request, "Saved as a new version; earlier answers and runs keep theirs.")
            return redirect("rag:prototype", uuid=prototype.uuid)
        except ValidationError as exc:
            _form_errors(form, exc)
    return render(request, "rag/prototypes/version_form.html", {"prototype": prototype, "form": form, "latest": latest})


@provider_required
@require_POST
def prototype_clone(request: HttpRequest, uuid: Any) -> HttpResponse:
    prototype = _editable(request, _prototype(request, uuid))
    form = CloneForm(request.POST)
    if form.is_valid():
        try:
            version = selectors.prototype_latest_version(prototype=prototype)
            clone = services.prototype_clone(version=version, name=form.cleaned_data["name"], user=request.user)
            messages.success(request, f"{clone.name} starts as a copy of {version}. Change it and compare runs.")
            return redirect("rag:prototype", uuid=clone.uuid)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Give the variant a name.")
    return redirect("rag:prototype", uuid=prototype.uuid)


def ask(request: HttpRequest, prototype: Prototype, template: str) -> HttpResponse:
    """Shared by the FDE page and the portal: validate, create the answer, return its streaming card."""
    form = AskForm(request.POST)
    if form.is_valid():
        try:
            answer = services.answer_ask(
                prototype=prototype,
                question=form.cleaned_data["question"],
                user=request.user,
                conversation=form.cleaned_data["conversation"],
            )
            turns = answer.conversation.turns.count() if answer.conversation else 0
            context = {"answer": answer, "answer_template": template, "turns": turns}
            return render(request, "rag/prototypes/_asked.html", context)
        except ValidationError as exc:
            _form_errors(form, exc)
    return render(request, "rag/prototypes/_ask_error.html", {"form": form})


@provider_required
@require_POST
def prototype_ask(request: HttpRequest, uuid: Any) -> HttpResponse:
    return ask(request, _prototype(request, uuid), ANSWER_TEMPLATE)


@provider_required
def answer_stream(request: HttpRequest, uuid: Any) -> HttpResponse:
    return answer_stream_response(request, _answer(request, uuid), template=ANSWER_TEMPLATE)  # type: ignore[return-value]


@provider_required
def answer_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    return render(request, ANSWER_TEMPLATE, {"answer": _answer(request, uuid)})


def citation(request: HttpRequest, answer: Answer, n: int, *, portal: bool = False) -> HttpResponse:
    cited = next((c for c in answer.citations if c["n"] == n), None)
    if cited is None:
        raise Http404("No such citation.")
    chunk = Chunk.objects.filter(pk=cited["chunk_id"], knowledge_base=answer.version.prototype.knowledge_base).first()
    return render(
        request,
        "rag/prototypes/_citation.html",
        {"answer": answer, "cited": cited, "chunk": chunk, "n": n, "portal": portal},
    )


def cited_document(request: HttpRequest, answer: Answer, n: int, *, portal: bool = False) -> HttpResponseBase:
    """The cited document as the text read from it, with the cited passage highlighted on its page or section.

    ``?original=1`` shows a PDF or plain-text original as itself, ``?download=1`` gives any original as an
    attachment. No original is ever rendered as a page of this site.
    """
    cited = next((c for c in answer.citations if c["n"] == n), None)
    chunk = (
        Chunk.objects.filter(pk=cited["chunk_id"], knowledge_base=answer.version.prototype.knowledge_base)
        .select_related("document")
        .first()
        if cited
        else None
    )
    if chunk is None or not chunk.document.content:
        raise Http404("The cited document's file is not available.")
    document = chunk.document
    download = request.GET.get("download") == "1"
    if download or (request.GET.get("original") == "1" and originals.shown_inline(document)):
        return originals.original_response(document, download=download)
    segments: list[originals.ShownSegment] = []
    found, error = False, ""
    try:
        segments, found = originals.highlighted(originals.extracted_text(document), chunk)
    except ParseError as exc:
        error = str(exc)
    context = {
        "document": document,
        "segments": segments,
        "found": found,
        "chunk": chunk,
        "error": error,
        "answer": answer,
        "n": n,
        "portal": portal,
        "original_inline": originals.shown_inline(document),
    }
    return render(request, "rag/prototypes/document_text.html", context)


@provider_required
def answer_citation(request: HttpRequest, uuid: Any, n: int) -> HttpResponse:
    return citation(request, _answer(request, uuid), n)


@provider_required
def answer_document(request: HttpRequest, uuid: Any, n: int) -> HttpResponseBase:
    return cited_document(request, _answer(request, uuid), n)


def give_feedback(request: HttpRequest, answer: Answer, *, portal: bool = False) -> HttpResponse:
    form = FeedbackForm(request.POST)
    feedback = None
    if form.is_valid():
        try:
            feedback = feedback_create(answer=answer, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
    return render(
        request,
        "rag/prototypes/_feedback.html",
        {"answer": answer, "form": form, "feedback": feedback, "portal": portal},
    )


@provider_required
@require_POST
def answer_feedback(request: HttpRequest, uuid: Any) -> HttpResponse:
    return give_feedback(request, _answer(request, uuid))
