"""Gate review packs in the FDE workspace: build one for a gate, watch it build, read it, download its PDF."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.decorators import provider_required
from engagements.models import Engagement, Phase, ReviewPack
from engagements.review import services
from engagements.review.selectors import gate_reviews, review_pack_history
from engagements.selectors import engagement_user_can_edit
from engagements.views._common import get_engagement_for_user, is_htmx


def _get_pack(request: HttpRequest, uuid: str, item: str, *, write: bool = False) -> ReviewPack:
    """The pack if the user may see its engagement (404 otherwise) and, with ``write``, change it (403)."""
    engagement = get_engagement_for_user(request, uuid, write=write)
    return get_object_or_404(
        ReviewPack.objects.select_related("engagement__client", "started_by"), engagement=engagement, uuid=item
    )


def _list(request: HttpRequest, engagement: Engagement, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "engagement": engagement,
        "packs": review_pack_history(engagement=engagement),
        "phases": Phase.choices,
        "can_edit": engagement_user_can_edit(engagement=engagement, user=request.user),
        "error": error,
    }
    template = "engagements/review/_packs.html" if is_htmx(request) else "engagements/review/packs.html"
    return render(request, template, context, status=status)


@provider_required
def review_packs(request: HttpRequest, uuid: str) -> HttpResponse:
    """GET: every version of every gate's pack. POST: build the next version of one gate's pack."""
    engagement = get_engagement_for_user(request, uuid, write=request.method == "POST")
    if request.method != "POST":
        return _list(request, engagement)
    try:
        services.review_pack_request(engagement=engagement, actor=request.user, phase=request.POST.get("phase") or None)
    except ValidationError as error:
        return _list(request, engagement, error=" ".join(error.messages), status=400)
    return (
        _list(request, engagement) if is_htmx(request) else redirect("engagements:review_packs", uuid=engagement.uuid)
    )


@provider_required
def review_pack(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    pack = _get_pack(request, uuid, item)
    context = {"engagement": pack.engagement, "pack": pack, "content": pack.content, "reviews": gate_reviews(pack=pack)}
    return render(request, "engagements/review/pack.html", context)


def pdf_response(pack: ReviewPack) -> FileResponse:
    """The pack's PDF, shown in the browser, under a name that carries no client names."""
    if not pack.pdf:
        raise Http404("This pack has no PDF yet.")
    return FileResponse(
        pack.pdf.open("rb"),
        content_type="application/pdf",
        filename=f"{pack.phase}-gate-review-v{pack.version}.pdf",
    )


@provider_required
def review_pack_pdf(request: HttpRequest, uuid: str, item: str) -> FileResponse:
    return pdf_response(_get_pack(request, uuid, item))
