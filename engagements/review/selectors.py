"""Reads for gate review packs: which packs a person may see, and which stakeholder a client user signs off as."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.selectors import user_client, user_is_provider
from engagements.models import Engagement, GateReview, ReviewPack, Stakeholder
from engagements.selectors import engagement_list_for_user


def review_pack_list_for_user(*, user: Any) -> QuerySet[ReviewPack]:
    """Packs of the engagements ``user`` may see; a client's users see only finished ones."""
    qs = ReviewPack.objects.filter(engagement__in=engagement_list_for_user(user=user)).select_related(
        "engagement__client", "started_by"
    )
    return qs if user_is_provider(user) else qs.filter(status=ReviewPack.Status.SUCCEEDED)


def review_pack_get_for_user(*, user: Any, uuid: Any) -> ReviewPack | None:
    return review_pack_list_for_user(user=user).filter(uuid=uuid).first()


def review_pack_history(*, engagement: Engagement) -> QuerySet[ReviewPack]:
    return engagement.review_packs.select_related("started_by").order_by("phase", "-version")


def review_pack_latest(*, engagement: Engagement, phase: str) -> ReviewPack | None:
    """The newest finished pack of a gate: the one stakeholders are asked to sign off."""
    return engagement.review_packs.filter(phase=phase, status=ReviewPack.Status.SUCCEEDED).order_by("-version").first()


def review_packs_latest_per_gate(*, engagement: Engagement) -> list[ReviewPack]:
    """The newest finished pack of each gate that has one, newest first."""
    packs = (
        engagement.review_packs.filter(status=ReviewPack.Status.SUCCEEDED)
        .order_by("phase", "-version")
        .distinct("phase")
    )
    return sorted(packs, key=lambda p: p.finished_at or p.queued_at, reverse=True)


def stakeholder_for_user(*, engagement: Engagement, user: Any) -> Stakeholder | None:
    """The stakeholder a client's user answers as: one of the engagement's stakeholders with the user's e-mail.

    Only a member of the engagement's own client qualifies, so an address typed on another client's stakeholder
    never lets anyone sign off for it.
    """
    if user_client(user) != engagement.client or not user.email:
        return None
    return engagement.stakeholders.filter(email__iexact=user.email).first()


def gate_reviews(*, pack: ReviewPack) -> list[GateReview]:
    """Every answer given to any version of the pack's gate, newest first."""
    return list(
        GateReview.objects.filter(pack__engagement=pack.engagement, pack__phase=pack.phase)
        .select_related("stakeholder", "pack", "user")
        .order_by("-created_at", "-id")
    )
