"""Celery tasks: thin wrappers that take ids, claim the job row and call the services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from celery.signals import worker_process_init

from rag.services import ingest


@shared_task(name="rag.ingest_batch", acks_late=True, max_retries=3, time_limit=3600, soft_time_limit=3500)
def ingest_batch(*, batch_id: int) -> None:
    if not ingest.batch_claim(batch_id=batch_id):
        return  # another worker has it, or a redelivered message for a batch that already finished
    ingest.batch_run(batch_id=batch_id)


@shared_task(name="rag.reclaim_stuck_batches", acks_late=True, max_retries=0, time_limit=120)
def reclaim_stuck_batches(*, older_than_seconds: int | None = None) -> list[int]:
    older_than = timedelta(seconds=older_than_seconds) if older_than_seconds is not None else None
    return ingest.batch_reclaim_stuck(older_than=older_than)


@worker_process_init.connect
def _warm_up_embeddings(**kwargs: object) -> None:
    # Each pool process loads the model once, right after it starts, instead of in its first ingestion task.
    from rag.embeddings import warm_up_in_background

    warm_up_in_background()
