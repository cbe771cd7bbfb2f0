from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.text import slugify

from accounts.selectors import client_list_for_user, client_user_can_manage, user_client, user_is_provider
from engagements import charts
from engagements.models import Engagement
from engagements.review.selectors import review_packs_latest_per_gate
from engagements.selectors import engagement_get_for_user, engagement_list_for_user
from portal.feedback import you_said_we_did
from portal.selectors import portal_engagement_cards, portal_engagement_context
from rag.prototypes.selectors import prototype_list_for_user


def _get_engagement_for_user(request: HttpRequest, uuid: Any) -> Engagement:
    engagement = engagement_get_for_user(user=request.user, uuid=uuid)
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A client's users see their engagements; provider staff pick a client to preview its portal."""
    client = user_client(request.user)
    context: dict[str, Any] = {"preview": user_is_provider(request.user)}
    if context["preview"]:
        context["clients"] = clients = client_list_for_user(user=request.user)  # type: ignore[arg-type]
        client = next((c for c in clients if c.slug == request.GET.get("client")), None)
    elif client is None:
        raise Http404("Your account is not a member of any client yet.")
    if client is not None:
        engagements = engagement_list_for_user(user=request.user).filter(client=client)
        context["cards"] = portal_engagement_cards(engagements=engagements)
        context["can_brand"] = client_user_can_manage(client=client, user=request.user)
    return render(request, "portal/home.html", {**context, "client": client, "brand_client": client})


@login_required
def engagement(request: HttpRequest, uuid: Any) -> HttpResponse:
    engagement = _get_engagement_for_user(request, uuid)
    context = portal_engagement_context(engagement=engagement)
    context["kpi_charts"] = [(kpi, charts.kpi_trend_html(kpi)) for kpi in context["kpis"]]
    context["roi_chart"] = charts.roi_cumulative_chart(context["roi"]) if context["roi"] else ""
    context["review_packs"] = review_packs_latest_per_gate(engagement=engagement)
    context["prototypes"] = prototype_list_for_user(user=request.user).filter(knowledge_base__engagement=engagement)
    return render(
        request,
        "portal/engagement.html",
        {
            "engagement": engagement,
            "brand_client": engagement.client,
            "preview": user_is_provider(request.user),
            **context,
        },
    )


@login_required
def feedback(request: HttpRequest) -> HttpResponse:
    """“You said, we did” for the user's client (provider staff preview a client with ``?client=slug``)."""
    client = user_client(request.user)
    if user_is_provider(request.user):
        clients = client_list_for_user(user=request.user)  # type: ignore[arg-type]
        client = next((c for c in clients if c.slug == request.GET.get("client")), None)
    if client is None:
        raise Http404("Choose a client to preview.")
    items = you_said_we_did(client=client)
    return render(request, "portal/feedback.html", {"client": client, "brand_client": client, "items": items})


SUMMARY_FORMATS = {"md": ("portal/summary.md", "text/markdown"), "html": ("portal/summary_export.html", "text/html")}


@login_required
def summary(request: HttpRequest, uuid: Any, fmt: str = "") -> HttpResponse:
    """The executive summary: a page, or a download as Markdown or a standalone HTML file."""
    engagement = _get_engagement_for_user(request, uuid)
    context = {"engagement": engagement, "brand_client": engagement.client}
    context |= portal_engagement_context(engagement=engagement)
    if not fmt:
        return render(request, "portal/summary.html", context)
    if fmt not in SUMMARY_FORMATS:
        raise Http404("Summaries download as md or html.")
    template, content_type = SUMMARY_FORMATS[fmt]
    body = render_to_string(template, context, request=request)
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    name = f"{slugify(engagement.name) or 'engagement'}-summary.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
