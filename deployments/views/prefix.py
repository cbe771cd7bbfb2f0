from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import provider_required
from deployments.charts import prefix_share_chart
from deployments.prefix_advice import prefix_advice, read_prefix_cache_counters
from deployments.prompt_shape import LADDER
from deployments.views.endpoints import _get_deployment_for_user

WINDOWS = {"1": "last hour", "24": "last day", "168": "last week"}


@provider_required
def deployment_prefix_cache(request: HttpRequest, uuid: str) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid)
    hours = request.GET.get("hours", "24")
    hours = hours if hours in WINDOWS else "24"
    measured = read_prefix_cache_counters(deployment) if deployment.is_active else {"ok": False, "error": "inactive"}
    advice = prefix_advice(deployment=deployment, since=timezone.now() - timedelta(hours=int(hours)), measured=measured)
    context = {
        "deployment": deployment,
        "advice": advice,
        "hours": hours,
        "windows": WINDOWS,
        "ladder": LADDER,
        "chart": prefix_share_chart(advice.sources) if advice.sources else None,
    }
    return render(request, "deployments/prefix_cache.html", context)
