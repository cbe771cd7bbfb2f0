"""The client portal's side of prototypes: a client's users try their engagement's prototypes and rate answers.

Everything is fetched through the user-scoped selectors, so another client's prototype or answer is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.selectors import user_is_provider
from rag.models import Answer, Prototype
from rag.prototypes import selectors
from rag.prototypes.forms import AskForm
from rag.prototypes.sse import answer_stream_response
from rag.prototypes.views_ask import ask, citation, cited_document, give_feedback

ANSWER_TEMPLATE = "portal/prototype_answer.html"


def _prototype(request: HttpRequest, uuid: Any) -> Prototype:
    prototype = selectors.prototype_get_for_user(user=request.user, uuid=uuid)
    if prototype is None:
        raise Http404("No such prototype.")
    return prototype


def _answer(request: HttpRequest, uuid: Any) -> Answer:
    answer = selectors.answer_get_for_user(user=request.user, uuid=uuid)
    # A client's users see the answers they asked for; the FDEs' trial questions stay in the workspace.
    if answer is None or (not user_is_provider(request.user) and answer.asked_by_id != request.user.pk):
        raise Http404("No such answer.")
    return answer


@login_required
def prototype_list(request: HttpRequest) -> HttpResponse:
    prototypes = selectors.prototype_list_for_user(user=request.user)
    return render(request, "portal/prototypes.html", {"prototypes": prototypes})


@login_required
def prototype(request: HttpRequest, uuid: Any) -> HttpResponse:
    item = _prototype(request, uuid)
    answers = selectors.answer_list_for_user(user=request.user).filter(
        version__prototype=item, asked_by_id=request.user.pk
    )
    return render(
        request,
        "portal/prototype.html",
        {"prototype": item, "answers": answers[:10], "ask_form": AskForm(), "portal": True},
    )


@login_required
@require_POST
def prototype_ask(request: HttpRequest, uuid: Any) -> HttpResponse:
    return ask(request, _prototype(request, uuid), ANSWER_TEMPLATE)


@login_required
def answer(request: HttpRequest, uuid: Any) -> HttpResponse:
    return render(request, ANSWER_TEMPLATE, {"answer": _answer(request, uuid)})


@login_required
def answer_stream(request: HttpRequest, uuid: Any) -> HttpResponse:
    return answer_stream_response(request, _answer(request, uuid), template=ANSWER_TEMPLATE)  # type: ignore[return-value]


@login_required
def answer_citation(request: HttpRequest, uuid: Any, n: int) -> HttpResponse:
    return citation(request, _answer(request, uuid), n, portal=True)


@login_required
def answer_document(request: HttpRequest, uuid: Any, n: int) -> HttpResponseBase:
    return cited_document(request, _answer(request, uuid), n, portal=True)


@login_required
@require_POST
def answer_feedback(request: HttpRequest, uuid: Any) -> HttpResponse:
    return give_feedback(request, _answer(request, uuid), portal=True)
