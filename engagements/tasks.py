"""Celery tasks: keep gate verdicts and provider-backed KPIs current with evidence produced by other apps."""

from __future__ import annotations

from celery import shared_task

from engagements.models import Engagement
from engagements.services import engagement_refresh_evidence


@shared_task(name="engagements.refresh_evidence", acks_late=True, max_retries=2, time_limit=300, soft_time_limit=270)
def refresh_evidence(*, engagement_id: int) -> dict[str, int] | None:
    # Evaluating a gate only reads evidence and overwrites the last verdicts, so a redelivery is harmless.
    engagement = Engagement.objects.filter(pk=engagement_id, archived_at__isnull=True).first()
    if engagement is None:
        return None
    return engagement_refresh_evidence(engagement=engagement)


@shared_task(name="engagements.refresh_all_evidence", acks_late=True, max_retries=0, time_limit=120)
def refresh_all_evidence() -> int:
    """Fan out one refresh per active engagement, so one slow provider does not hold up the rest."""
    ids = list(Engagement.objects.filter(archived_at__isnull=True).values_list("pk", flat=True))
    for engagement_id in ids:
        refresh_evidence.delay(engagement_id=engagement_id)
    return len(ids)
