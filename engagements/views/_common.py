from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import trigger_client_event

from engagements.models import Engagement, Phase
from engagements.selectors import engagement_get_for_user, engagement_user_can_edit, engagement_user_is_lead
from engagements.views.sections import SECTIONS, section_context


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def get_engagement_for_user(request: HttpRequest, uuid: Any, *, write: bool = False) -> Engagement:
    """The engagement if the user may see it (404 otherwise) and, with ``write``, change it (403 otherwise)."""
    engagement = engagement_get_for_user(user=request.user, uuid=uuid)
    if engagement is None:
        raise Http404("No such engagement.")
    if write and not engagement_user_can_edit(engagement=engagement, user=request.user):
        raise PermissionDenied("Only FDEs assigned to this engagement can change it.")
    return engagement


def page_context(request: HttpRequest, engagement: Engagement, section: str, **extra: Any) -> dict[str, Any]:
    return {
        "engagement": engagement,
        "section": section,
        "sections": SECTIONS,
        "phase_choices": Phase.choices,
        "phase_position": Phase.position_of(engagement.phase),
        "can_edit": engagement_user_can_edit(engagement=engagement, user=request.user),
        "is_lead": engagement_user_is_lead(engagement=engagement, user=request.user),
        **section_context(engagement, section, request.user, **extra),
        **extra,
    }


def render_section(request: HttpRequest, engagement: Engagement, section: str, **extra: Any) -> HttpResponse:
    """The section partial for htmx, the whole page otherwise; ``extra`` carries forms with their errors."""
    context = page_context(request, engagement, section, **extra)
    if is_htmx(request):
        response = render(request, f"engagements/_section_{section}.html", context)
        return trigger_client_event(response, "engagement-changed")
    return render(request, "engagements/detail.html", context)


def apply_errors(form: BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one, otherwise on the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def done(request: HttpRequest, engagement: Engagement, section: str) -> HttpResponse:
    if is_htmx(request):
        return render_section(request, engagement, section)
    return redirect("engagements:section", uuid=engagement.uuid, section=section)
