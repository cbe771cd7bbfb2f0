"""Gate review packs in the client portal: read the pack, download its PDF, approve the gate or ask for changes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import user_is_provider
from engagements.models import GateReview, ReviewPack
from engagements.review.selectors import (
    gate_reviews,
    review_pack_get_for_user,
    review_pack_latest,
    stakeholder_for_user,
)
from engagements.review.services import gate_review_record
from engagements.views.review import pdf_response


def _get_pack_for_user(request: HttpRequest, uuid: str) -> ReviewPack:
    """A finished pack of one of the user's own client's engagements, or 404."""
    pack = review_pack_get_for_user(user=request.user, uuid=uuid)
    if pack is None or not pack.is_done:
        raise Http404("No such review pack.")
    return pack


def _signoff_context(request: HttpRequest, pack: ReviewPack, **extra: Any) -> dict[str, Any]:
    stakeholder = stakeholder_for_user(engagement=pack.engagement, user=request.user)
    reviews = gate_reviews(pack=pack)
    latest = review_pack_latest(engagement=pack.engagement, phase=pack.phase)
    return {
        "pack": pack,
        "engagement": pack.engagement,
        "stakeholder": stakeholder,
        "is_latest": latest == pack,
        "latest": latest,
        "my_review": next((r for r in reviews if stakeholder and r.stakeholder_id == stakeholder.pk), None),
        "reviews": reviews,
        "decisions": GateReview.Decision.choices,
        "preview": user_is_provider(request.user),
        **extra,
    }


@login_required
def pack(request: HttpRequest, uuid: str) -> HttpResponse:
    pack = _get_pack_for_user(request, uuid)
    return render(request, "portal/review/pack.html", {"content": pack.content, **_signoff_context(request, pack)})


@login_required
def pack_pdf(request: HttpRequest, uuid: str) -> FileResponse:
    return pdf_response(_get_pack_for_user(request, uuid))


@login_required
@require_POST
def pack_signoff(request: HttpRequest, uuid: str) -> HttpResponse:
    """Record the stakeholder's answer; the sign-off panel comes back with it, or with what was wrong."""
    pack = _get_pack_for_user(request, uuid)
    decision = request.POST.get("decision", "")
    comment = request.POST.get("comment", "")
    error, status = "", 200
    if decision not in GateReview.Decision.values:
        error, status = "Choose whether you approve the gate or ask for changes.", 400
    else:
        try:
            gate_review_record(pack=pack, user=request.user, decision=decision, comment=comment)
        except PermissionDenied as exc:
            error, status = str(exc), 403
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    if not getattr(request, "htmx", False) and not error:
        return redirect("portal:review_pack", uuid=pack.uuid)
    context = _signoff_context(request, pack, error=error, comment=comment if error else "")
    return render(request, "portal/review/_signoff.html", context, status=status)
