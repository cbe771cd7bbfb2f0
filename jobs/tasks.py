from __future__ import annotations

from celery import shared_task

from jobs import services


@shared_task(name="jobs.sweep", acks_late=True, max_retries=0, time_limit=120)
def sweep() -> dict[str, list[int]]:
    return services.sweep()
