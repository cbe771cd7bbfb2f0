from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import provider_required
from engagements.models import Engagement
from engagements.selectors import engagement_get_for_user, engagement_list_for_user


def _get_engagement_for_user(request: HttpRequest, uuid: str) -> Engagement:
    engagement = engagement_get_for_user(user=request.user, uuid=uuid)
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


@provider_required
def engagement_list(request: HttpRequest) -> HttpResponse:
    engagements = engagement_list_for_user(user=request.user).prefetch_related("assignments__user")
    return render(request, "engagements/list.html", {"engagements": engagements})


@provider_required
def engagement_detail(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = _get_engagement_for_user(request, uuid)
    return render(request, "engagements/detail.html", {"engagement": engagement})
