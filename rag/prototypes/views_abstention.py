"""FDE pages for abstention: the curve and calibrated threshold of an eval run, and drafting unanswerable cases."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from deployments.gateway import ModelEndpointError
from engagements.selectors import engagement_user_can_edit
from rag.models import EvalRun
from rag.prototypes import calibration, selectors
from rag.prototypes.views_eval import _dataset, _run


def _target(request: HttpRequest) -> float:
    """The FDE's target in percent of answerable questions declined, from the query or form (default 10%)."""
    raw = request.POST.get("target") or request.GET.get("target") or ""
    try:
        percent = float(raw) if raw else 100 * calibration.DEFAULT_TARGET
    except ValueError:
        percent = 100 * calibration.DEFAULT_TARGET
    return min(max(percent, 0.0), 100.0) / 100


def _is_uuid(value: str) -> bool:
    try:
        uuid_lib.UUID(value)
    except ValueError:
        return False
    return True


def _editable(request: HttpRequest, run: EvalRun) -> EvalRun:
    if not engagement_user_can_edit(engagement=run.dataset.knowledge_base.engagement, user=request.user):
        raise Http404("Only the engagement's team changes its prototypes.")
    return run


@provider_required
def run_abstention(request: HttpRequest, uuid: Any) -> HttpResponse:
    run = _run(request, uuid)
    report = calibration.abstention_report(run=run, max_declined=_target(request))
    can_edit = engagement_user_can_edit(engagement=run.dataset.knowledge_base.engagement, user=request.user)
    context = {"report": report, "run": run, "target": round(100 * _target(request), 1), "can_edit": can_edit}
    return render(request, "rag/eval/_abstention.html", context)


@provider_required
@require_POST
def run_abstention_apply(request: HttpRequest, uuid: Any) -> HttpResponse:
    run = _editable(request, _run(request, uuid))
    try:
        version = calibration.prototype_version_calibrate_abstention(
            run=run, max_declined=_target(request), user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("rag:eval-run", uuid=run.uuid)
    messages.success(request, f"Saved {version}: it declines below an answerability of {version.abstain_below:.4f}.")
    return redirect("rag:prototype", uuid=run.version.prototype.uuid)


@provider_required
@require_POST
def dataset_draft_unanswerable(request: HttpRequest, uuid: Any) -> HttpResponse:
    dataset = _dataset(request, uuid, edit=True)
    prototypes = selectors.prototype_list_for_user(user=request.user).filter(knowledge_base=dataset.knowledge_base)
    wanted = request.POST.get("prototype", "")
    chosen = (prototypes.filter(uuid=wanted).first() if _is_uuid(wanted) else None) or prototypes.first()
    if chosen is None:
        messages.error(request, "Create a prototype on this knowledge base first: its model drafts the questions.")
        return redirect("rag:eval-dataset", uuid=dataset.uuid)
    try:
        drafted = calibration.eval_cases_draft_unanswerable(
            dataset=dataset, version=selectors.prototype_latest_version(prototype=chosen), count=3
        )
    except ModelEndpointError as exc:
        messages.error(request, str(exc))
        return redirect("rag:eval-dataset", uuid=dataset.uuid)
    messages.success(
        request,
        f"The model drafted {len(drafted)} questions the documents should not answer: check each really is "
        "unanswerable before approving it.",
    )
    return redirect("rag:eval-dataset", uuid=dataset.uuid)
