"""Celery tasks: thin wrappers that take the job row's pk and run it through the job services."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_init

from jobs.services import execute
from rag.models import IngestionBatch
from rag.services import ingest


@shared_task(name="rag.ingest_batch", acks_late=True, max_retries=3, time_limit=3600, soft_time_limit=3500)
def ingest_batch(batch_id: int) -> None:
    execute(IngestionBatch, batch_id, ingest.batch_work)


@worker_process_init.connect
def _warm_up_embeddings(**kwargs: object) -> None:
    # Each pool process loads the model once, right after it starts, instead of in its first ingestion task.
    from rag.embeddings import warm_up_in_background

    warm_up_in_background()
