"""The job services every kind uses: enqueue on commit, claim, heartbeat, finish, fail, cancel, retry, sweep.

A task's life: ``enqueue`` sends ``task_name`` with the row's pk once the creating transaction commits; the task
calls ``execute`` (or ``claim`` itself), which moves the row to running for exactly one worker; the work calls
``heartbeat`` between re-runnable steps and stops when it returns False (cancel requested), keeping what it
finished; ``finish`` or ``fail`` records the outcome. ``sweep`` (Celery beat) puts back the jobs whose worker
went silent and re-sends queued jobs whose message was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from celery import current_app, current_task
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from jobs import registry
from jobs.models import ACTIVE_STATUSES, Job, JobStatus

logger = logging.getLogger(__name__)
J = TypeVar("J", bound=Job)
MAX_ERROR_CHARS = 2000
UNEXPECTED = (
    "It stopped on an unexpected error. The reason is recorded for the engagement team, who can retry it; what it "
    "did is kept."
)


def _send(model: type[Job], pk: int) -> bool:
    """Hand the job to the queue; False (logged, the job stays queued) when the broker cannot be reached.

    The request that created the job still succeeds: the sweeper sends queued jobs again once their kind's
    ``stale_after`` has passed, so the work starts when the queue is back.
    """
    try:
        # No publish retries: a down broker must not hold the request that queued the job.
        # A connection of its own per hand-over (jobs are queued a few at a time): the pooled producer would hold
        # a connection that died with the broker.
        with current_app.connection_for_write() as connection:
            current_app.send_task(model.task_name, args=(pk,), retry=False, connection=connection)
    except (KombuOperationalError, RedisError, OSError) as exc:
        logger.warning(
            "the queue is unreachable (%s); %s %s stays queued until the sweeper sends it", exc, model.job_kind, pk
        )
        return False
    return True


def enqueue(job: Job) -> None:
    """Send the job's task once the current transaction commits (at once outside one)."""
    type(job)._default_manager.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    model, pk = type(job), job.pk

    def send() -> None:
        job._queue_unreachable = not _send(model, pk)  # type: ignore[attr-defined]

    transaction.on_commit(send)


def _close(
    model: type[Job], pk: int, status: str, message: str = "", detail: str = "", *, owner: Q | None = None
) -> int:
    now = timezone.now()
    return model._default_manager.filter(owner or Q(), pk=pk, status__in=ACTIVE_STATUSES).update(
        status=status,
        finished_at=now,
        heartbeat_at=now,
        current_step="",
        last_error=message[:MAX_ERROR_CHARS],
        last_error_detail=detail[:MAX_ERROR_CHARS],
    )


def _owned(job: Job) -> Q:
    """The row as long as this worker still holds it: the attempt it claimed is the row's latest.

    A worker that took the job over (its message came back while this one still ran) counted another attempt, so
    this worker's heartbeats then say stop and its outcome is not recorded over the new worker's. The start time
    tells apart the same attempt number after a retry, which counts attempts from zero again.
    """
    attempts, started_at = _claim_of(job)
    return Q(pk=job.pk, attempts=attempts, started_at=started_at)


def _claim_of(job: Job) -> tuple[int, Any]:
    """The attempt and start time this worker claimed (set by ``claim``); the row's own for a job read elsewhere."""
    return getattr(job, "_claimed_attempt", (job.attempts, job.started_at))


def held(job: Job, fresh: J) -> J:
    """``fresh``, the job's row read again (with its related rows, say), holding the claim of ``job``.

    Work that reads its row again passes it through here, so its heartbeats still know whose claim they carry.
    """
    fresh._claimed_attempt = _claim_of(job)  # type: ignore[attr-defined]
    return fresh


def _gave_up_message(job: Job) -> str:
    return (
        f"It stopped {job.attempts} times without finishing (its worker was lost or timed out each time), so it "
        "was not started again. Check the workers on the Jobs page, then retry it; what it finished is kept."
    )


def claim(model: type[J], pk: int, *, take_over: bool = False) -> J | None:
    """Move a queued job, or a running one whose worker went silent, to running; None when this worker may not.

    Exactly one caller wins: the row is locked and others skip it. A job past ``max_attempts`` fails instead,
    and one whose cancel was requested is cancelled.
    """
    now = timezone.now()
    with transaction.atomic():
        job = model._default_manager.select_for_update(skip_locked=True).filter(pk=pk).first()
        running_elsewhere = job is not None and job.status == JobStatus.RUNNING and not job.is_stale
        if job is None or not (job.status == JobStatus.QUEUED or job.is_stale or (take_over and running_elsewhere)):
            return None
        if job.cancel_requested:
            _close(model, pk, JobStatus.CANCELLED)
            return None
        if job.attempts >= model.max_attempts:
            _close(model, pk, JobStatus.FAILED, _gave_up_message(job))
            return None
        job.status, job.attempts, job.heartbeat_at = JobStatus.RUNNING, job.attempts + 1, now
        job.started_at = job.started_at or now
        job.finished_at, job.current_step = None, ""
        job.save(update_fields=["status", "attempts", "heartbeat_at", "started_at", "finished_at", "current_step"])
    job._claimed_attempt = (job.attempts, job.started_at)  # type: ignore[attr-defined]  # see _owned
    return job


def heartbeat(job: Job, *, progress: Any = None, total: int | None = None, step: str | None = None) -> bool:
    """Record that the job is alive (and how far it got); False when this worker should stop at this step.

    It stops when a cancel was requested, when the row was deleted, or when another worker took the job over (then
    nothing is recorded). ``progress`` may be a number or an expression such as ``F("progress") + 1``.
    """
    values: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if progress is not None:
        values["progress"] = progress
    if total is not None:
        values["total"] = job.total = total
    if step is not None:
        values["current_step"] = job.current_step = step[:300]
    model = type(job)
    owned = model._default_manager.filter(_owned(job))
    if not owned.update(**values) and model._default_manager.filter(pk=job.pk).exists():
        logger.warning("%s %s was taken over by another worker; this one stops", model.job_kind, job.pk)
        return False
    row = owned.values_list("progress", "cancel_requested").first()
    # A row deleted under a running job (its knowledge base removed) means stop.
    job.progress, job.cancel_requested = row if row is not None else (job.progress, True)
    return not job.cancel_requested


def finish(job: Job) -> None:
    """Record the end of the work: succeeded, or cancelled when a cancel was requested while it ran.

    Nothing changes when another worker took the job over: that worker records the outcome.
    """
    active = type(job)._default_manager.filter(_owned(job), status__in=ACTIVE_STATUSES)
    now = timezone.now()
    if not active.filter(cancel_requested=False).update(
        status=JobStatus.SUCCEEDED, finished_at=now, heartbeat_at=now, current_step=""
    ):
        active.update(status=JobStatus.CANCELLED, finished_at=now, heartbeat_at=now, current_step="")
    _refresh(job)


def fail(job: Job, message: str, *, detail: str = "") -> None:
    """Record that the job stopped; ``message`` says what went wrong and what a person can do about it.

    A client's users may see ``message`` (their uploads are jobs); ``detail`` is the full reason, which may name
    servers and addresses, and only provider staff see it. Nothing changes when another worker took the job over.
    """
    _close(type(job), job.pk, JobStatus.FAILED, message, detail, owner=_owned(job))
    _refresh(job)


def execute(model: type[J], pk: int, work: Callable[[J], None]) -> J | None:
    """The body of every job task: claim, run ``work`` (which heartbeats and finishes), fail on an exception."""
    job = claim(model, pk, take_over=_redelivered())
    if job is None:
        return None  # another worker has it, or a redelivered message for a job that already ended
    try:
        work(job)
    except Exception as exc:
        logger.exception("%s %s stopped", model.job_kind, pk)
        fail(job, UNEXPECTED, detail=f"It stopped on an unexpected error: {type(exc).__name__}: {exc}")
        raise
    _refresh(job)
    if job.is_active:  # work that forgot to record its outcome still ends
        finish(job)
    return job


def _redelivered() -> bool:
    """Whether the running task's message came back from the broker because the worker holding it was lost.

    Such a job is taken over at once instead of waiting for the sweeper. The broker puts a message back when the
    pool process running it dies (the worker rejects it) and when the broker's visibility timeout passes without
    an acknowledgement; the timeout is longer than any job task's time limit (config/settings.py), and should a
    live worker still hold the job, its next heartbeat tells it to stop (see ``_owned``).
    """
    request = getattr(current_task, "request", None)
    delivery_info = getattr(request, "delivery_info", None) or {}
    return bool(delivery_info.get("redelivered"))


def _refresh(job: Job) -> None:
    try:
        job.refresh_from_db()
    except type(job).DoesNotExist:
        pass  # deleted while it ran (its knowledge base or dataset was removed): nothing left to record


def request_cancel(job: Job) -> None:
    """Cancel a queued job at once; ask a running one to stop at its next step (it keeps what it finished)."""
    model = type(job)
    now = timezone.now()
    if not model._default_manager.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, heartbeat_at=now, current_step=""
    ) and not model._default_manager.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True):
        raise ValidationError("Only a queued or running job can be cancelled.")
    job.refresh_from_db()


@transaction.atomic
def retry(job: Job) -> None:
    """Queue a failed or cancelled job again with a fresh attempt count; it resumes where it stopped."""
    model = type(job)
    now = timezone.now()
    updated = model._default_manager.filter(pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]).update(
        status=JobStatus.QUEUED,
        attempts=0,
        last_error="",
        last_error_detail="",
        current_step="",
        cancel_requested=False,
        queued_at=now,
        started_at=None,
        finished_at=None,
    )
    if not updated:
        raise ValidationError("Only a failed or cancelled job can be retried.")
    enqueue(job)
    job.refresh_from_db()


def sweep(*, older_than: timedelta | None = None) -> dict[str, list[int]]:
    """Put back every kind's running jobs whose worker went silent, and re-send queued jobs not picked up.

    Each kind's own ``stale_after`` applies unless ``older_than`` is given. A job past its attempts fails, one
    whose cancel was requested is cancelled. Returns the pks sent again, by kind.
    """
    sent: dict[str, list[int]] = {}
    for kind, model in registry.kinds().items():
        sent[kind] = _sweep_kind(model, older_than if older_than is not None else model.stale_after)
    return sent


@transaction.atomic
def _sweep_kind(model: type[Job], older_than: timedelta) -> list[int]:
    now = timezone.now()
    silent = Q(heartbeat_at__lte=now - older_than) | Q(heartbeat_at__isnull=True, queued_at__lte=now - older_than)
    candidates = model._default_manager.select_for_update(skip_locked=True).filter(silent, status__in=ACTIVE_STATUSES)
    sent = []
    for job in candidates.order_by("pk"):
        if job.cancel_requested:
            _close(model, job.pk, JobStatus.CANCELLED)
        elif job.status == JobStatus.RUNNING and job.attempts >= model.max_attempts:
            _close(model, job.pk, JobStatus.FAILED, _gave_up_message(job))
        else:
            model._default_manager.filter(pk=job.pk).update(status=JobStatus.QUEUED)
            enqueue(job)
            sent.append(job.pk)
    if sent:
        logger.warning("sent %s jobs %s again (silent for %s)", model.job_kind, sent, older_than)
    return sent
