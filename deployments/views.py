from __future__ import annotations

from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import provider_required
from deployments.charts import latency_chart
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
    context = {
        "deployment": deployment,
        "stats": model_call_stats(deployment=deployment, since=timezone.now() - timedelta(hours=24)),
        "calls": calls[:20],
        "latency_chart": latency_chart(calls) if calls else None,
    }
    return render(request, "deployments/detail.html", context)
