"""The gate panel: ticking checklist items, editing criteria, advancing and going back."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import provider_required
from engagements import services
from engagements.forms import AdvanceForm, CriterionForm, ReturnForm
from engagements.models import Engagement, GateCriterion, Phase
from engagements.views._common import apply_errors, get_engagement_for_user, is_htmx, page_context


def _gate(request: HttpRequest, engagement: Engagement, **forms: object) -> HttpResponse:
    """The gate panel fragment for htmx; the advance page (which shows the same panel) otherwise."""
    context = page_context(request, engagement, "overview", **forms)
    template = "engagements/_gate.html" if is_htmx(request) else "engagements/advance.html"
    return render(request, template, context)


@provider_required
def gate_panel(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    return _gate(request, engagement, gate_phase=request.GET.get("phase"))


@provider_required
def advance(request: HttpRequest, uuid: str) -> HttpResponse:
    """GET: the gate check before a move (where the board sends a dragged card). POST: advance."""
    engagement = get_engagement_for_user(request, uuid)
    if request.method != "POST":
        return _gate(request, engagement, move_to=_move_to(engagement, request.GET.get("to", "")))
    form = AdvanceForm(request.POST)
    if form.is_valid():
        try:
            services.engagement_advance_phase(engagement=engagement, actor=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            message = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            return _gate(request, engagement, advance_form=form, advance_error=message)
        url = engagement_url(engagement)
        return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)
    return _gate(request, engagement, advance_form=form, advance_error="The form was incomplete; reload the page.")


@provider_required
@require_POST
def go_back(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            services.engagement_return_to_phase(engagement=engagement, actor=request.user, **form.cleaned_data)
            url = engagement_url(engagement)
            return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)
        except ValidationError as error:
            apply_errors(form, error)
    return _gate(request, engagement, return_form=form)


@provider_required
@require_POST
def criterion_check(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    criterion = get_object_or_404(GateCriterion, engagement=engagement, uuid=item)
    try:
        services.criterion_check(criterion=criterion, actor=request.user, checked=request.POST.get("checked") == "on")
    except ValidationError as error:
        # e.g. an evidence criterion, which the product computes: say so instead of failing the request
        return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain; charset=utf-8")
    return _gate(request, engagement, gate_phase=criterion.phase)


@provider_required
@require_POST
def criterion_create(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    form = CriterionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.criterion_create(
                engagement=engagement,
                actor=request.user,
                phase=data["phase"],
                label=data["label"],
                kind=data["kind"],
                provider_key=data.get("provider_key", ""),
                params=data.get("params_json") or {},
                comparison=data["comparison"],
                threshold=data.get("threshold"),
                visible_to_client=data.get("visible_to_client", False),
            )
            return _gate(request, engagement, gate_phase=data["phase"])
        except ValidationError as error:
            apply_errors(form, error)
    return _gate(request, engagement, criterion_form=form, gate_phase=request.POST.get("phase"))


@provider_required
@require_POST
def criterion_update(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    criterion = get_object_or_404(GateCriterion, engagement=engagement, uuid=item)
    current = {"comparison": criterion.comparison, "provider_key": criterion.provider_key}
    form = CriterionForm({**current, **request.POST.dict(), "phase": criterion.phase, "kind": criterion.kind})
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.as_text())
        fields = {"label": form.cleaned_data["label"]}
        if not criterion.is_checklist:
            fields |= {
                "provider_key": form.cleaned_data["provider_key"],
                "comparison": form.cleaned_data["comparison"],
                "threshold": form.cleaned_data["threshold"],
                "params": form.cleaned_data["params_json"],
            }
        services.criterion_update(criterion=criterion, actor=request.user, **fields)
    except ValidationError as error:
        errors = {str(criterion.uuid): " ".join(error.messages)}
        return _gate(request, engagement, gate_phase=criterion.phase, criterion_errors=errors)
    return _gate(request, engagement, gate_phase=criterion.phase)


@provider_required
@require_POST
def criterion_visibility(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    criterion = get_object_or_404(GateCriterion, engagement=engagement, uuid=item)
    visible = request.POST.get("visible") == "1"
    services.record_set_client_visibility(record=criterion, actor=request.user, visible=visible)
    return _gate(request, engagement, gate_phase=criterion.phase)


@provider_required
@require_POST
def criterion_delete(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    criterion = get_object_or_404(GateCriterion, engagement=engagement, uuid=item)
    services.criterion_delete(criterion=criterion, actor=request.user)
    return _gate(request, engagement, gate_phase=criterion.phase)


def _move_to(engagement: Engagement, phase: str) -> dict[str, object] | None:
    """Describe where a card was dropped on the board: forward (the gate applies) or back (a reason is needed)."""
    if phase not in Phase.values or phase == engagement.phase:
        return None
    forward = Phase.position_of(phase) > Phase.position_of(engagement.phase)
    return {
        "phase": phase,
        "label": Phase(phase).label,
        "forward": forward,
        "skips": forward and phase != Phase.after(engagement.phase),
    }


def engagement_url(engagement: Engagement) -> str:
    from django.urls import reverse

    return reverse("engagements:detail", kwargs={"uuid": engagement.uuid})
