"""Queue depth and live workers from Celery's inspection API, bounded in time so a down broker never hangs a page."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from celery import Celery, current_app
from django.conf import settings
from kombu.exceptions import ChannelError


@dataclass
class QueueState:
    workers: int | None = None
    queue_depth: int | None = None
    error: str = ""


def _probe(app: Celery, timeout: float) -> QueueState:
    replies = app.control.inspect(timeout=timeout).ping() or {}
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        try:
            depth = conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:
            depth = 0  # the broker has no such queue until a message is sent to it
    return QueueState(workers=len(replies), queue_depth=depth)


def queue_state(*, app: Celery | None = None, timeout: float = 1.0) -> QueueState:
    """Workers answering a ping and messages waiting in the app's queue; an error message when the broker is down."""
    found: list[QueueState] = []

    def probe() -> None:
        try:
            found.append(_probe(app or current_app, timeout))
        except Exception as exc:
            found.append(QueueState(error=f"The broker could not be asked: {type(exc).__name__}: {exc}"[:300]))

    # A daemon thread: a broker that hangs keeps only this thread waiting, never the page nor the process's exit.
    limit = timeout * 2 + 0.5
    thread = threading.Thread(target=probe, name="celery-inspect", daemon=True)
    thread.start()
    thread.join(limit)
    if not found:
        return QueueState(error=f"The broker did not answer within {limit:.1f} s: check Redis.")
    return found[0]
