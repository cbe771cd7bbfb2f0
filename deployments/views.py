from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import provider_required
from deployments.selectors import deployment_list_for_user


@provider_required
def deployment_list(request: HttpRequest) -> HttpResponse:
    deployments = deployment_list_for_user(user=request.user)
    return render(request, "deployments/list.html", {"deployments": deployments})


@provider_required
def deployment_detail(request: HttpRequest, uuid: str) -> HttpResponse:
    deployment = deployment_list_for_user(user=request.user).filter(uuid=uuid).first()
    if deployment is None:
        raise Http404("No such deployment.")
    return render(request, "deployments/detail.html", {"deployment": deployment})
