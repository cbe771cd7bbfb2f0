from __future__ import annotations

from celery import shared_task

from engagements.review import services
from engagements.review.pdf import PdfError


@shared_task(name="engagements.build_review_pack", acks_late=True, max_retries=2, time_limit=600, soft_time_limit=570)
def build_review_pack(*, pack_id: int) -> None:
    if not services.review_pack_claim(pack_id=pack_id):
        return  # done, cancelled, or another worker is on it
    try:
        services.review_pack_build(pack_id=pack_id)
    except PdfError as exc:
        services.review_pack_fail(pack_id=pack_id, error=str(exc))
    except Exception as exc:
        services.review_pack_fail(
            pack_id=pack_id, error=f"The pack could not be built: {exc}. Retry to build it again."
        )
        raise
