from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.decorators import provider_required
from config.health import check_model
from deployments.charts import latency_chart
from deployments.forms import DeploymentForm
from deployments.models import Deployment
from deployments.selectors import deployment_list_for_user, model_call_recent, model_call_stats


@provider_required
def deployment_list(request: HttpRequest) -> HttpResponse:
    deployments = deployment_list_for_user(user=request.user)
    return render(request, "deployments/list.html", {"deployments": deployments})


@provider_required
def deployment_detail(request: HttpRequest, uuid: str) -> HttpResponse:
    deployment = deployment_list_for_user(user=request.user).filter(uuid=uuid).first()
    if deployment is None:
        raise Http404("No such deployment.")
    calls = model_call_recent(deployment=deployment)
    # Asked live, with the short health-check timeout, so a down endpoint shows as down instead of hanging the page.
    probe = check_model(deployment) if deployment.is_active else None
    context = {
        "deployment": deployment,
        "probe": probe,
        "stats": model_call_stats(deployment=deployment, since=timezone.now() - timedelta(hours=24)),
        "calls": calls[:20],
        "latency_chart": latency_chart(calls) if calls else None,
    }
    return render(request, "deployments/detail.html", context)


def _get_deployment_for_user(request: HttpRequest, uuid: str) -> Deployment:
    deployment = deployment_list_for_user(user=request.user).filter(uuid=uuid).first()
    if deployment is None:
        raise Http404("No such deployment.")
    return deployment


@provider_required
def deployment_create(request: HttpRequest) -> HttpResponse:
    form = DeploymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        deployment = form.save()
        messages.success(request, f"Registered {deployment.name}. Its health check runs below.")
        return redirect("deployments:detail", uuid=deployment.uuid)
    return render(request, "deployments/form.html", {"form": form, "deployment": None})


@provider_required
def deployment_edit(request: HttpRequest, uuid: str) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid)
    form = DeploymentForm(request.POST or None, instance=deployment)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved {deployment.name}.")
        return redirect("deployments:detail", uuid=deployment.uuid)
    return render(request, "deployments/form.html", {"form": form, "deployment": deployment})
