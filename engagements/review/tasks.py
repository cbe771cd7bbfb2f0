from __future__ import annotations

from celery import shared_task

from engagements.review import services


@shared_task(name="engagements.build_review_pack", acks_late=True, max_retries=2, time_limit=600, soft_time_limit=570)
def build_review_pack(pack_id: int) -> None:
    services.review_pack_execute(pack_id=pack_id)
