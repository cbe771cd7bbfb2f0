"""FDE pages for conversations: one conversation's turns as they were read and answered, and turning them into
eval cases."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from engagements.selectors import engagement_user_can_edit
from rag.models import Conversation, EvalDataset
from rag.prototypes import selectors
from rag.prototypes.conversations import CONVERSATIONS_DATASET, conversation_to_eval_cases


def _conversation(request: HttpRequest, uuid: Any) -> Conversation:
    conversation = selectors.conversation_get_for_user(user=request.user, uuid=uuid)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


@provider_required
def conversation_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    conversation = _conversation(request, uuid)
    kb = conversation.prototype.knowledge_base
    context = {
        "conversation": conversation,
        "turns": conversation.turns.select_related("version__deployment", "asked_by").order_by("created_at"),
        "datasets": EvalDataset.objects.filter(knowledge_base=kb).order_by("name"),
        "default_dataset": CONVERSATIONS_DATASET,
        "can_edit": engagement_user_can_edit(engagement=kb.engagement, user=request.user),
    }
    return render(request, "rag/prototypes/conversation.html", context)


@provider_required
@require_POST
def conversation_eval_cases(request: HttpRequest, uuid: Any) -> HttpResponse:
    conversation = _conversation(request, uuid)
    kb = conversation.prototype.knowledge_base
    if not engagement_user_can_edit(engagement=kb.engagement, user=request.user):
        raise Http404("Only the engagement's team changes its eval datasets.")
    chosen = request.POST.get("dataset") or ""
    dataset = EvalDataset.objects.filter(knowledge_base=kb, uuid=chosen).first() if chosen else None
    if chosen and dataset is None:
        messages.error(request, "That dataset is not one of this knowledge base's: choose another.")
        return redirect("rag:conversation", uuid=conversation.uuid)
    try:
        dataset, cases = conversation_to_eval_cases(conversation=conversation, dataset=dataset)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("rag:conversation", uuid=conversation.uuid)
    messages.success(
        request,
        f"{len(cases)} turn{'s' if len(cases) != 1 else ''} added to {dataset.name} as draft cases: review each "
        "reference answer, then mark the case ready.",
    )
    return redirect("rag:eval-dataset", uuid=dataset.uuid)
