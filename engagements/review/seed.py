"""Demo review pack: the demo client's admin is one of the engagement's stakeholders, and the current gate's pack is
queued once the seed commits, so the worker has built it (PDF included) within a minute of `make run`."""

from __future__ import annotations

from typing import Any

from engagements.models import ReviewPack
from engagements.review.services import review_pack_request
from engagements.services import stakeholder_create


def seed(data: dict[str, Any]) -> dict[str, Any]:
    engagement, lead, admin = data.get("demo_engagement"), data.get("lead"), data.get("client_admin")
    if engagement is None or lead is None:
        return {}
    if admin is not None and not engagement.stakeholders.filter(email__iexact=admin.email).exists():
        stakeholder_create(
            engagement=engagement,
            actor=lead,
            name=admin.get_full_name() or admin.email,
            title="Head of claims transformation",
            role="champion",
            email=admin.email,
            influence=3,
            interest=3,
        )
    pack = ReviewPack.objects.filter(engagement=engagement, phase=engagement.phase).order_by("-version").first()
    if pack is None or pack.status in {ReviewPack.Status.FAILED, ReviewPack.Status.CANCELLED}:
        pack = review_pack_request(engagement=engagement, actor=lead)
    return {"demo_review_pack": pack}
