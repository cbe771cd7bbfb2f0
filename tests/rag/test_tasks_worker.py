from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Sum

from engagements.models import Engagement
from jobs import services
from jobs.models import JobStatus
from rag.models import Chunk, ChunkEmbedding, Document, IngestionBatch, KnowledgeBase
from rag.services import ingest
from rag.services.knowledge_base import knowledge_base_create
from tests.fixtures_services import wait_for

pytestmark = pytest.mark.celery_worker


@pytest.fixture(autouse=True)
def _media_root() -> Iterator[None]:
    # The worker process reads documents from the configured media folder, so the test uses it too.
    yield


@pytest.fixture
def worker_kb(engagement: Engagement, fde: Any) -> Iterator[KnowledgeBase]:
    kb = knowledge_base_create(engagement=engagement, name="Worker test", actor=fde, chunk_size=300, chunk_overlap=0)
    yield kb
    shutil.rmtree(settings.MEDIA_ROOT / "rag" / "documents" / str(kb.uuid), ignore_errors=True)


def _corpus(count: int) -> list[tuple[str, bytes]]:
    paragraph = "Section {i}.{j}: carriers must report damage for shipment {i} within {j} days of delivery. "
    return [
        (f"policy-{i:03}.txt", "\n\n".join(paragraph.format(i=i, j=j) * 3 for j in range(8)).encode())
        for i in range(count)
    ]


def test_killed_worker_mid_batch_finishes_after_reclaim_with_no_duplicates(
    celery_worker: Any, worker_kb: KnowledgeBase
) -> None:
    batch = ingest.documents_add_files(knowledge_base=worker_kb, files=_corpus(80))
    progress = wait_for(
        lambda: IngestionBatch.objects.get(pk=batch.pk).progress, timeout=120, interval=0.05, message="progress"
    )
    celery_worker.kill()
    batch.refresh_from_db()
    assert batch.status == JobStatus.RUNNING and progress > 0 and batch.progress < batch.total

    assert services.sweep(older_than=timedelta(0))["ingestion"] == [batch.pk]
    celery_worker.start()
    wait_for(
        lambda: IngestionBatch.objects.get(pk=batch.pk).status == JobStatus.SUCCEEDED, timeout=180, message="batch done"
    )

    _assert_every_document_stored_once(batch, worker_kb, attempts=2)


def _assert_every_document_stored_once(batch: IngestionBatch, kb: KnowledgeBase, *, attempts: int) -> None:
    batch.refresh_from_db()
    docs = Document.objects.filter(knowledge_base=kb)
    assert (batch.progress, batch.total, batch.failed_count, batch.attempts) == (80, 80, 0, attempts)
    assert docs.filter(status=Document.Status.READY).count() == 80
    chunks = Chunk.objects.filter(knowledge_base=kb)
    assert chunks.count() == docs.aggregate(n=Sum("chunk_count"))["n"]
    assert ChunkEmbedding.objects.filter(knowledge_base=kb).count() == chunks.count()
    for doc in docs:
        assert sorted(doc.chunks.values_list("index", flat=True)) == list(range(doc.chunk_count))


def _pool_process_running(task_name: str, pk: int) -> int | None:
    """The pid of the worker's pool process running ``task_name`` for the row ``pk``, as the worker reports it."""
    from config.celery import app

    for tasks in (app.control.inspect(timeout=2).active() or {}).values():
        for task in tasks:
            if task["name"] == task_name and list(task["args"]) == [pk]:
                return int(task["worker_pid"])
    return None


def test_a_batch_whose_pool_process_dies_resumes_at_once_from_the_redelivered_message(
    celery_worker: Any, worker_kb: KnowledgeBase
) -> None:
    batch = ingest.documents_add_files(knowledge_base=worker_kb, files=_corpus(80))
    pid = wait_for(
        lambda: _pool_process_running(IngestionBatch.task_name, batch.pk), timeout=120, message="the task to run"
    )
    wait_for(lambda: IngestionBatch.objects.get(pk=batch.pk).progress, timeout=120, interval=0.05, message="progress")
    assert celery_worker.proc is not None and pid != celery_worker.proc.pid
    os.kill(pid, signal.SIGKILL)  # only the process running the task, as the kernel's OOM killer would
    batch.refresh_from_db()
    assert batch.status == JobStatus.RUNNING and batch.progress < batch.total and batch.attempts == 1

    # No sweep: the worker gives the message back to Redis, which redelivers it, and the job is taken over at once
    # (the sweeper would wait for the job's heartbeat to be five minutes old).
    wait_for(
        lambda: IngestionBatch.objects.filter(pk=batch.pk, attempts=2).exists(), timeout=60, message="the take-over"
    )
    wait_for(
        lambda: IngestionBatch.objects.get(pk=batch.pk).status == JobStatus.SUCCEEDED, timeout=180, message="batch done"
    )
    assert celery_worker.proc.poll() is None  # the worker itself lived on and ran the redelivered message
    _assert_every_document_stored_once(batch, worker_kb, attempts=2)


def test_cancelling_a_running_batch_keeps_the_documents_already_stored(
    celery_worker: Any, worker_kb: KnowledgeBase
) -> None:
    batch = ingest.documents_add_files(knowledge_base=worker_kb, files=_corpus(80))
    wait_for(lambda: IngestionBatch.objects.get(pk=batch.pk).progress, timeout=120, interval=0.05, message="progress")

    services.request_cancel(IngestionBatch.objects.get(pk=batch.pk))
    batch = wait_for(
        lambda: IngestionBatch.objects.filter(pk=batch.pk, status__in=["cancelled", "succeeded", "failed"]).first(),
        timeout=120,
        message="the batch to stop",
    )

    docs = Document.objects.filter(knowledge_base=worker_kb)
    ready = docs.filter(status=Document.Status.READY)
    assert batch.status == JobStatus.CANCELLED and 0 < ready.count() < 80
    assert batch.progress == ready.count() and docs.filter(status=Document.Status.PENDING).count() == 80 - ready.count()
    chunks = Chunk.objects.filter(knowledge_base=worker_kb)
    assert set(chunks.values_list("document_id", flat=True)) == set(ready.values_list("pk", flat=True))
    assert chunks.count() == ready.aggregate(n=Sum("chunk_count"))["n"]

    services.retry(batch)  # the rest is ingested; what was stored stays
    wait_for(
        lambda: IngestionBatch.objects.get(pk=batch.pk).status == JobStatus.SUCCEEDED, timeout=180, message="retry"
    )
    assert docs.filter(status=Document.Status.READY).count() == 80
