"""Registering and changing a deployment, its health check and its alert webhook."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from deployments.forms import AlertWebhookForm, ConfigShapeForm, DeploymentForm
from deployments.models import AlertWebhook, Deployment
from deployments.selectors import deployment_get_for_user, deployment_user_can_edit
from deployments.services import alert_webhook_set, deployment_check_health, deployment_create, deployment_update
from engagements.models import Engagement
from engagements.selectors import engagement_user_can_edit
from engagements.views._common import apply_errors


def _get_deployment_for_user(request: HttpRequest, uuid: Any, *, write: bool = False) -> Deployment:
    """The deployment if the user may see it (404 otherwise), and, with ``write``, change it (403 otherwise)."""
    deployment = deployment_get_for_user(user=request.user, uuid=uuid)
    if deployment is None:
        raise Http404("No such deployment.")
    if write and not deployment_user_can_edit(deployment=deployment, user=request.user):
        raise PermissionDenied(
            "Only the engagement's team can change this deployment (for a shared endpoint, whoever registered it)."
        )
    return deployment


def _engagements_for(user: Any) -> Any:
    """Engagements the user may attach a deployment to: those they work on (all of them for a superuser)."""
    engagements = Engagement.objects.filter(archived_at__isnull=True).select_related("client")
    return engagements if user.is_superuser else engagements.filter(assignments__user=user).distinct()


@provider_required
def deployment_create_view(request: HttpRequest) -> HttpResponse:
    form = DeploymentForm(request.POST or None, request.FILES or None, engagements=_engagements_for(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            deployment = deployment_create(
                actor=request.user, fields=form.service_fields(), api_key=form.cleaned_data["api_key"] or None
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Registered {deployment.name}. Its first health check is on its way.")
            return redirect("deployments:detail", uuid=deployment.uuid)
    return render(request, "deployments/form.html", {"form": form, "deployment": None})


@provider_required
def deployment_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid, write=True)
    form = DeploymentForm(
        request.POST or None, request.FILES or None, instance=deployment, engagements=_engagements_for(request.user)
    )
    if request.method == "POST" and form.is_valid():
        had_key = deployment.has_api_key
        try:
            deployment_update(
                deployment=deployment,
                actor=request.user,
                fields=form.service_fields(),
                api_key=form.cleaned_data["api_key"] or None,
                clear_api_key=form.cleaned_data["clear_api_key"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            note = (
                " The base URL changed, so the stored API key was removed."
                if had_key and not deployment.has_api_key and not form.cleaned_data["clear_api_key"]
                else ""
            )
            messages.success(request, f"Saved {deployment.name}.{note}")
            return redirect("deployments:detail", uuid=deployment.uuid)
    return render(request, "deployments/form.html", {"form": form, "deployment": deployment})


@provider_required
@require_POST
def deployment_shape_from_config(request: HttpRequest) -> HttpResponse:
    """The model-shape fields filled from a pasted or uploaded config.json, for the form's "Read" button."""
    form = ConfigShapeForm(request.POST, request.FILES)
    context: dict[str, Any] = {"error": None, "shape": None}
    if form.is_valid():
        context["shape"] = form.cleaned_data["shape"]
    else:
        context["error"] = " ".join(str(e) for e in form.non_field_errors()) or "Could not read this config.json."
    return render(request, "deployments/_shape_from_config.html", context)


@provider_required
@require_POST
def deployment_check_now(request: HttpRequest, uuid: Any) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid, write=True)
    deployment_check_health(deployment=deployment)
    if getattr(request, "htmx", False):
        return render(request, "deployments/_health.html", {"deployment": deployment, "can_edit": True})
    return redirect("deployments:detail", uuid=deployment.uuid)


@provider_required
@require_POST
def alert_webhook_save(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Set or remove the alert webhook of the deployment's engagement (its team only)."""
    deployment = _get_deployment_for_user(request, uuid)
    engagement = deployment.engagement
    if engagement is None:
        raise Http404("A shared endpoint has no engagement to send alerts to.")
    if not engagement_user_can_edit(engagement=engagement, user=request.user):
        raise PermissionDenied("Only the engagement's team can change where its alerts go.")
    form = AlertWebhookForm(request.POST)
    if form.is_valid():
        alert_webhook_set(engagement=engagement, url=form.cleaned_data["url"])
        messages.success(
            request, "Alerts will be posted to the webhook." if form.cleaned_data["url"] else "Webhook removed."
        )
    else:
        messages.error(
            request, " ".join(str(e) for e in form.errors.get("url", [])) or "That webhook URL was not accepted."
        )
    return redirect("deployments:detail", uuid=deployment.uuid)


def webhook_is_set(deployment: Deployment) -> bool:
    return (
        deployment.engagement_id is not None
        and AlertWebhook.objects.filter(engagement_id=deployment.engagement_id).exists()
    )
