"""Reads for jobs of every kind, scoped like the pages that own them: by the engagements the user may see."""

from __future__ import annotations

import uuid as uuid_lib
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.selectors import user_is_provider
from engagements.selectors import engagement_list_for_user, engagement_user_can_edit
from jobs import registry
from jobs.models import Job, JobStatus


def _visible(model: type[Job], user: Any) -> QuerySet[Job]:
    scope = Q(engagement__in=engagement_list_for_user(user=user).values("pk"))
    if user_is_provider(user):
        scope |= Q(engagement__isnull=True)  # practice-wide work (no engagement) is provider staff's
    return model._default_manager.filter(scope)


def job_get_for_user(*, user: Any, kind: str, uuid: uuid_lib.UUID | str) -> Job | None:
    model = registry.get(kind)
    if model is None:
        return None
    return _visible(model, user).filter(uuid=uuid).select_related("engagement").first()


def job_user_can_change(*, job: Job, user: Any) -> bool:
    """Cancel and retry, like the owning pages' changes: the engagement's team (or whoever started it, if none)."""
    if job.engagement_id is None:
        return user_is_provider(user) and (user.is_superuser or job.started_by_id == user.pk)
    assert job.engagement is not None
    return engagement_user_can_edit(engagement=job.engagement, user=user)


def job_editable_engagement_ids(*, user: Any) -> set[int]:
    """The engagements whose jobs ``user`` may cancel and retry, in one query (for pages that list many jobs)."""
    if not user_is_provider(user):
        return set()
    engagements = engagement_list_for_user(user=user)
    if not user.is_superuser:
        engagements = engagements.filter(assignments__user=user)
    return set(engagements.values_list("pk", flat=True))


def job_list_for_user(
    *,
    user: Any,
    kind: str = "",
    status: str = "",
    engagement: uuid_lib.UUID | str | None = None,
    within: timedelta | None = None,
    older_than: timedelta | None = None,
    limit: int = 200,
) -> list[Job]:
    """Newest first across every kind: a constant number of queries per kind.

    ``within`` keeps the jobs queued since that long ago, ``older_than`` those queued before it (stuck work).
    """
    rows: list[Job] = []
    for name, model in registry.kinds().items():
        if kind and name != kind:
            continue
        qs = _visible(model, user).select_related("engagement__client", "started_by", *model.list_related)
        if status:
            qs = qs.filter(status=status)
        if engagement:
            qs = qs.filter(engagement__uuid=engagement)
        if within is not None:
            qs = qs.filter(queued_at__gte=timezone.now() - within)
        if older_than is not None:
            qs = qs.filter(queued_at__lt=timezone.now() - older_than)
        rows.extend(qs.order_by("-queued_at")[:limit])
    rows.sort(key=lambda job: job.queued_at, reverse=True)
    return rows[:limit]


def job_counts_for_user(*, user: Any) -> dict[str, dict[str, int]]:
    """Jobs per kind and status, counted in the database."""
    counts: dict[str, dict[str, int]] = {}
    for name, model in registry.kinds().items():
        by_status = dict.fromkeys(JobStatus.values, 0)
        for row in _visible(model, user).values("status").annotate(n=Count("pk")).order_by():
            by_status[row["status"]] = row["n"]
        counts[name] = by_status
    return counts
