from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from engagements import services
from engagements.forms import AssignForm, EngagementCreateForm, EngagementForm
from engagements.selectors import engagement_user_can_edit
from engagements.views._common import apply_errors, get_engagement_for_user, page_context, render_section
from engagements.views.sections import SECTION_KEYS


@provider_required
def engagement_detail(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    return render(request, "engagements/detail.html", page_context(request, engagement, "overview"))


@provider_required
def engagement_section(request: HttpRequest, uuid: str, section: str) -> HttpResponse:
    if section not in SECTION_KEYS:
        raise Http404("No such section.")
    return render_section(request, get_engagement_for_user(request, uuid), section)


@provider_required
def engagement_create(request: HttpRequest) -> HttpResponse:
    form = EngagementCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            engagement = services.engagement_create(lead=request.user, **form.cleaned_data)
            return redirect("engagements:detail", uuid=engagement.uuid)
        except ValidationError as error:
            apply_errors(form, error)
    return render(request, "engagements/form.html", {"form": form})


@provider_required
def engagement_edit(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    if not engagement_user_can_edit(engagement=engagement, user=request.user):
        raise PermissionDenied("Only FDEs assigned to this engagement can change it.")
    form = EngagementForm(request.POST or None, instance=engagement)
    if request.method == "POST" and form.is_valid():
        try:
            services.engagement_update(engagement=engagement, actor=request.user, **form.cleaned_data)
            return redirect("engagements:detail", uuid=engagement.uuid)
        except ValidationError as error:
            apply_errors(form, error)
    return render(request, "engagements/form.html", {"form": form, "engagement": engagement})


@provider_required
@require_POST
def engagement_archive(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    services.engagement_archive(engagement=engagement, actor=request.user, archived=request.POST.get("restore") != "1")
    return redirect("engagements:detail", uuid=engagement.uuid)


@provider_required
@require_POST
def engagement_assign(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    if not engagement_user_can_edit(engagement=engagement, user=request.user):
        raise PermissionDenied("Only FDEs assigned to this engagement can change its team.")
    form = AssignForm(request.POST)
    if form.is_valid():
        services.engagement_assign(engagement=engagement, **form.cleaned_data)
        services.activity_record(
            engagement=engagement, actor=request.user, verb="added to the team:", target=str(form.cleaned_data["user"])
        )
    return redirect("engagements:detail", uuid=engagement.uuid)


@provider_required
@require_POST
def engagement_unassign(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    pk = request.POST.get("assignment", "")
    assignment = engagement.assignments.select_related("user").filter(pk=pk).first() if pk.isdigit() else None
    if assignment is None:
        raise Http404("No such team member.")
    try:
        services.engagement_unassign(engagement=engagement, actor=request.user, user=assignment.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("engagements:detail", uuid=engagement.uuid)
