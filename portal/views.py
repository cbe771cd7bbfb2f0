from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import client_list_for_user, user_client, user_is_provider
from engagements.charts import kpi_trend_html
from engagements.review.selectors import review_packs_latest_per_gate
from engagements.selectors import engagement_get_for_user, engagement_list_for_user, engagement_portal_context
from rag.prototypes.selectors import prototype_list_for_user


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A client's users see their engagements; provider staff pick a client to preview its portal."""
    client = user_client(request.user)
    preview_slug = request.GET.get("client")
    if user_is_provider(request.user):
        clients = client_list_for_user(user=request.user)  # type: ignore[arg-type]
        client = next((c for c in clients if c.slug == preview_slug), None)
        engagements = engagement_list_for_user(user=request.user).filter(client=client) if client else []
        return render(
            request,
            "portal/home.html",
            {"client": client, "clients": clients, "engagements": engagements, "preview": True},
        )
    if client is None:
        raise Http404("Your account is not a member of any client yet.")
    engagements = engagement_list_for_user(user=request.user)
    return render(request, "portal/home.html", {"client": client, "engagements": engagements, "preview": False})


@login_required
def engagement(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, uuid=uuid)
    if engagement is None:
        raise Http404("No such engagement.")
    context = engagement_portal_context(engagement=engagement)
    context["kpi_charts"] = [(kpi, kpi_trend_html(kpi)) for kpi in context["kpis"]]
    context["review_packs"] = review_packs_latest_per_gate(engagement=engagement)
    context["prototypes"] = prototype_list_for_user(user=request.user).filter(knowledge_base__engagement=engagement)
    return render(
        request,
        "portal/engagement.html",
        {"engagement": engagement, "preview": user_is_provider(request.user), **context},
    )
