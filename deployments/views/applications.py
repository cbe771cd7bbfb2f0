"""Client applications and their gateway keys: FDEs create them for an engagement's client and hand the key over."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from deployments.applications import (
    application_create,
    deployments_for_engagement,
    gateway_key_create,
    gateway_key_revoke,
)
from deployments.forms import ApplicationForm, GatewayKeyForm
from deployments.models import ClientApplication, GatewayKey
from deployments.selectors import client_application_list
from engagements.selectors import engagement_list_for_user, engagement_user_can_edit


def _get_application_for_user(request: HttpRequest, uuid: str, *, write: bool = False) -> ClientApplication:
    """The application if the user may see it (404 otherwise); with ``write``, 403 unless they may change it."""
    engagements = engagement_list_for_user(user=request.user)
    application = client_application_list(engagements=engagements).filter(uuid=uuid).first()
    if application is None:
        raise Http404("No such application.")
    if write and not engagement_user_can_edit(engagement=application.engagement, user=request.user):
        raise PermissionDenied("Only the engagement's team changes its applications and keys.")
    return application


def _editable_engagements(request: HttpRequest) -> Any:
    """The engagements the user may add applications to, in one query (the rule of ``engagement_user_can_edit``)."""
    engagements = engagement_list_for_user(user=request.user)
    return engagements if request.user.is_superuser else engagements.filter(assignments__user=request.user.pk)


@provider_required
def application_list(request: HttpRequest) -> HttpResponse:
    engagements = engagement_list_for_user(user=request.user)
    form = ApplicationForm(request.POST or None, engagements=_editable_engagements(request))
    if request.method == "POST" and form.is_valid():
        try:
            application = application_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Created {application.name}. Create a key for it below.")
            return redirect("deployments:application", uuid=application.uuid)
    applications = client_application_list(engagements=engagements)
    return render(request, "deployments/applications.html", {"applications": applications, "form": form})


@provider_required
def application_detail(request: HttpRequest, uuid: str) -> HttpResponse:
    application = _get_application_for_user(request, uuid)
    can_edit = engagement_user_can_edit(engagement=application.engagement, user=request.user)
    form = GatewayKeyForm(
        request.POST or None, deployments=deployments_for_engagement(engagement=application.engagement)
    )
    context = {
        "application": application,
        "form": form,
        "can_edit": can_edit,
        "new_key": None,
        "gateway_url": settings.GATEWAY_URL,
    }
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only the engagement's team creates keys for its applications.")
        if form.is_valid():
            _, raw = gateway_key_create(application=application, actor=request.user, **form.cleaned_data)
            # Shown in this response only: the key is stored as a hash and cannot be shown again.
            context.update(new_key=raw, form=GatewayKeyForm(deployments=form.fields["deployments"].queryset))  # type: ignore[attr-defined]
            application = _get_application_for_user(request, uuid)  # the keys list, with the new key in it
            context["application"] = application
    return render(request, "deployments/application.html", context)


@provider_required
@require_POST
def key_revoke(request: HttpRequest, uuid: str, key: str) -> HttpResponse:
    application = _get_application_for_user(request, uuid, write=True)
    gateway_key = GatewayKey.objects.filter(application=application, uuid=key).first()
    if gateway_key is None:
        raise Http404("No such key.")
    gateway_key_revoke(key=gateway_key)
    if request.htmx:  # type: ignore[attr-defined]
        return render(
            request, "deployments/_key_row.html", {"key": gateway_key, "application": application, "can_edit": True}
        )
    messages.success(request, f"Revoked the key {gateway_key.prefix}…; programs using it are refused within seconds.")
    return redirect("deployments:application", uuid=application.uuid)
