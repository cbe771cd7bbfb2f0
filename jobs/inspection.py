"""Queue depth and live workers from Celery's inspection API, bounded in time so a down broker never hangs a page."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from kombu.exceptions import ChannelError


@dataclass
class QueueState:
    workers: int | None = None
    queue_depth: int | None = None
    error: str = ""


def _probe(timeout: float) -> QueueState:
    app = current_app
    replies = app.control.inspect(timeout=timeout).ping() or {}
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        try:
            depth = conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:
            depth = 0  # the broker has no such queue until a message is sent to it
    return QueueState(workers=len(replies), queue_depth=depth)


def queue_state(*, timeout: float = 1.0) -> QueueState:
    """Workers answering a ping and messages waiting in the app's queue; an error message when the broker is down."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celery-inspect")
    future = pool.submit(_probe, timeout)
    pool.shutdown(wait=False)  # a broker that hangs keeps only this thread waiting, never the page
    try:
        return future.result(timeout=timeout * 2 + 0.5)
    except FutureTimeout:
        return QueueState(error=f"The broker did not answer within {timeout * 2 + 0.5:.1f} s: check Redis.")
    except Exception as exc:
        return QueueState(error=f"The broker could not be asked: {type(exc).__name__}: {exc}"[:300])
