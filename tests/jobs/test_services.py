from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from config.celery import app, tasks_outlasting_visibility_timeout
from engagements.models import Engagement
from jobs import registry, services
from jobs.models import JobStatus
from rag.models import EvalRun, IngestionBatch, KnowledgeBase
from rag.services import ingest
from rag.services.knowledge_base import knowledge_base_create


@pytest.fixture
def kb(engagement: Engagement, fde: Any) -> KnowledgeBase:
    return knowledge_base_create(engagement=engagement, name="Jobs", actor=fde, chunk_size=300, chunk_overlap=0)


@pytest.fixture
def batch(kb: KnowledgeBase, fde: Any, django_capture_on_commit_callbacks: Any) -> IngestionBatch:
    with django_capture_on_commit_callbacks(execute=False):
        return ingest.documents_add_files(knowledge_base=kb, files=[("a.txt", b"alpha beta")], actor=fde)


def _age(batch: IngestionBatch, **ago: float) -> None:
    IngestionBatch.objects.filter(pk=batch.pk).update(heartbeat_at=timezone.now() - timedelta(**ago))


def test_both_kinds_are_registered_with_their_task_and_limits() -> None:
    assert registry.get("ingestion") is IngestionBatch and registry.get("eval-run") is EvalRun
    assert IngestionBatch.task_name == "rag.ingest_batch" and EvalRun.task_name == "rag.eval_run"
    assert EvalRun.stale_after == timedelta(minutes=5) and IngestionBatch.max_attempts >= 1


def test_a_new_batch_belongs_to_its_engagement_and_starter(batch: IngestionBatch, fde: Any, kb: KnowledgeBase) -> None:
    assert batch.engagement_id == kb.engagement_id and batch.started_by == fde
    assert batch.status == JobStatus.QUEUED and batch.total == 1


def test_enqueue_sends_the_task_only_when_the_transaction_commits(
    batch: IngestionBatch, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.enqueue(batch)
    assert len(callbacks) == 1


def test_claim_runs_a_queued_job_once(batch: IngestionBatch) -> None:
    job = services.claim(IngestionBatch, batch.pk)

    assert job is not None and job.status == JobStatus.RUNNING and job.attempts == 1
    assert job.started_at and job.heartbeat_at
    assert services.claim(IngestionBatch, batch.pk) is None  # running and alive: nobody else takes it


def test_a_running_job_whose_worker_went_silent_can_be_taken_over(batch: IngestionBatch) -> None:
    services.claim(IngestionBatch, batch.pk)
    _age(batch, seconds=IngestionBatch.stale_after.total_seconds() + 5)

    job = services.claim(IngestionBatch, batch.pk)

    assert job is not None and job.attempts == 2


def test_a_job_past_its_attempts_fails_with_a_message_instead_of_starting(batch: IngestionBatch) -> None:
    IngestionBatch.objects.filter(pk=batch.pk).update(status=JobStatus.RUNNING, attempts=IngestionBatch.max_attempts)
    _age(batch, hours=1)

    assert services.claim(IngestionBatch, batch.pk) is None

    batch.refresh_from_db()
    assert batch.status == JobStatus.FAILED and batch.finished_at
    assert f"stopped {IngestionBatch.max_attempts} times" in batch.last_error and "retry" in batch.last_error


def test_heartbeat_records_progress_and_says_stop_once_cancel_is_requested(batch: IngestionBatch) -> None:
    job = services.claim(IngestionBatch, batch.pk)
    assert job is not None
    assert services.heartbeat(job, progress=1, step="Reading a.txt") is True
    services.request_cancel(job)

    assert services.heartbeat(job, step="Reading b.txt") is False
    services.finish(job)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.progress == 1 and job.finished_at and not job.current_step


def test_cancelling_a_queued_job_ends_it_at_once_and_its_message_is_then_ignored(batch: IngestionBatch) -> None:
    services.request_cancel(batch)

    assert batch.status == JobStatus.CANCELLED
    assert services.claim(IngestionBatch, batch.pk) is None
    with pytest.raises(ValidationError, match="queued or running"):
        services.request_cancel(batch)


def test_fail_keeps_the_message_and_retry_queues_again_with_fresh_attempts(
    batch: IngestionBatch, django_capture_on_commit_callbacks: Any
) -> None:
    job = services.claim(IngestionBatch, batch.pk)
    assert job is not None
    services.fail(job, "The folder is gone: mount it again, then retry.")
    assert job.status == JobStatus.FAILED and job.last_error.startswith("The folder is gone")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.retry(job)

    assert (job.status, job.attempts, job.last_error, job.finished_at) == (JobStatus.QUEUED, 0, "", None)
    assert len(callbacks) == 1
    with pytest.raises(ValidationError, match="failed or cancelled"):
        services.retry(job)


def test_the_sweeper_sends_silent_jobs_again_and_gives_up_past_the_limit(
    kb: KnowledgeBase, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        silent, exhausted, alive, stopping = (
            ingest.documents_add_files(knowledge_base=kb, files=[(f"{n}.txt", n.encode())])
            for n in ("silent", "exhausted", "alive", "stopping")
        )
    for job in (silent, exhausted, alive, stopping):
        services.claim(IngestionBatch, job.pk)
    IngestionBatch.objects.filter(pk=exhausted.pk).update(attempts=IngestionBatch.max_attempts)
    IngestionBatch.objects.filter(pk=stopping.pk).update(cancel_requested=True)
    for job in (silent, exhausted, stopping):
        _age(job, hours=1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sent = services.sweep()

    assert sent["ingestion"] == [silent.pk] and len(callbacks) == 1
    states = dict(IngestionBatch.objects.values_list("pk", "status"))
    assert states[silent.pk] == JobStatus.QUEUED and states[alive.pk] == JobStatus.RUNNING
    assert states[exhausted.pk] == JobStatus.FAILED and states[stopping.pk] == JobStatus.CANCELLED


def test_the_sweeper_sends_again_a_queued_job_whose_message_was_lost(
    batch: IngestionBatch, django_capture_on_commit_callbacks: Any
) -> None:
    _age(batch, hours=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sweep()["ingestion"] == [batch.pk]
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sweep()["ingestion"] == []  # sent just now: not again until it is silent once more
    assert callbacks == []


def test_a_worker_whose_job_was_taken_over_is_told_to_stop_and_its_outcome_is_ignored(batch: IngestionBatch) -> None:
    first = services.claim(IngestionBatch, batch.pk)
    assert first is not None and services.heartbeat(first, progress=1) is True
    # The message came back while the first worker still ran (a visibility timeout): a second worker takes over.
    second = services.claim(IngestionBatch, batch.pk, take_over=True)
    assert second is not None and second.attempts == 2

    assert services.heartbeat(first, progress=5, step="Reading z.txt") is False
    services.fail(first, "The first worker's error")
    first.refresh_from_db()  # as execute does before recording a forgotten outcome: the claim is still the first's
    services.finish(first)

    row = IngestionBatch.objects.get(pk=batch.pk)
    assert (row.status, row.progress, row.last_error, row.attempts) == (JobStatus.RUNNING, 1, "", 2)
    assert row.current_step != "Reading z.txt" and row.finished_at is None
    assert services.heartbeat(second, progress=2) is True
    services.finish(second)
    assert IngestionBatch.objects.get(pk=batch.pk).status == JobStatus.SUCCEEDED


def test_an_evaluation_taken_over_is_not_ended_by_its_first_worker(kb: KnowledgeBase) -> None:
    from deployments.services import deployment_save
    from rag.models import EvalResult
    from rag.prototypes import evals
    from rag.prototypes.datasets import eval_case_save, eval_dataset_create
    from tests.rag.prototype_builders import make_prototype

    prototype = make_prototype(kb, deployment_save(name="Any", base_url="http://127.0.0.1:9/v1", served_model_name="m"))
    dataset = eval_dataset_create(knowledge_base=kb, name="Scored")
    case = eval_case_save(dataset=dataset, external_id="c1", question="Deadline?", reference_answer="14 days")
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=dataset, use_judge=False, enqueue=False)
    EvalResult.objects.create(run=run, case=case, hit=1, f1=1.0, answer="14 days", total_ms=100)  # already scored
    first = services.claim(EvalRun, run.pk)
    assert first is not None and services.claim(EvalRun, run.pk, take_over=True) is not None

    evals.eval_run_work(first)  # the first worker reaches its end (nothing left to score) while the second one runs

    assert EvalRun.objects.get(pk=run.pk).status == JobStatus.RUNNING


def test_a_worker_from_before_a_retry_cannot_touch_the_retried_job(
    batch: IngestionBatch, django_capture_on_commit_callbacks: Any
) -> None:
    old = services.claim(IngestionBatch, batch.pk)
    assert old is not None
    IngestionBatch.objects.filter(pk=batch.pk).update(status=JobStatus.FAILED, started_at=timezone.now() - timedelta(1))
    with django_capture_on_commit_callbacks(execute=False):
        services.retry(IngestionBatch.objects.get(pk=batch.pk))
    new = services.claim(IngestionBatch, batch.pk)
    assert new is not None and new.attempts == old.attempts == 1  # the same attempt number, another claim

    assert services.heartbeat(old, progress=1) is False
    services.finish(old)
    assert IngestionBatch.objects.get(pk=batch.pk).status == JobStatus.RUNNING


def test_the_broker_never_hands_a_running_task_to_a_second_worker_before_its_time_limit() -> None:
    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert tasks_outlasting_visibility_timeout() == [], f"raise the visibility timeout above {timeout} s"
    assert app.tasks["deployments.run_load_test"].time_limit > 6 * 3600  # the longest job task: a 6-hour load test


def test_a_visibility_timeout_shorter_than_a_task_names_that_task() -> None:
    outlasting = tasks_outlasting_visibility_timeout(3600)
    assert outlasting == ["deployments.run_load_test", "rag.eval_run", "rag.ingest_batch"]


@pytest.mark.django_db(transaction=True)
def test_exactly_one_of_many_concurrent_claims_wins(engagement: Engagement, fde: Any, monkeypatch: Any) -> None:
    # Keep the batch's task off the broker: a worker left running by another test would claim it before the threads.
    monkeypatch.setattr(services, "_send", lambda model, pk: True)
    kb = knowledge_base_create(engagement=engagement, name="Race", actor=fde)
    batch = ingest.documents_add_files(knowledge_base=kb, files=[("a.txt", b"alpha")])
    barrier = threading.Barrier(6)
    wins: list[bool] = []

    def contend() -> None:
        try:
            barrier.wait()
            wins.append(services.claim(IngestionBatch, batch.pk) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=contend) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(wins) == [False] * 5 + [True]
    assert IngestionBatch.objects.get(pk=batch.pk).attempts == 1
