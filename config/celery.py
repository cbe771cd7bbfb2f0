from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import Celery
from celery.signals import heartbeat_sent, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fde")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_KEY = "fde:worker-heartbeat:{queue}:{hostname}"
logger = logging.getLogger(__name__)


def tasks_outlasting_visibility_timeout(timeout: int | None = None, *, load: bool = True) -> list[str]:
    """The tasks whose hard time limit reaches the broker's visibility timeout (``timeout``: the configured one).

    Redis hands such a task's message to a second worker while the first may still run it; the first then stops at
    its next heartbeat, but the work done since its last step is lost and redone. ``load`` imports every app's
    tasks first; a running worker has them already, and loading them again there would set Django up a second
    time, whose logging configuration silences the worker's own loggers (its "ready." line and every task's log).
    """
    if load:
        app.loader.import_default_modules()
    if timeout is None:
        timeout = app.conf.broker_transport_options.get("visibility_timeout", 3600)
    default = app.conf.task_time_limit or 0
    return sorted(
        name
        for name, task in app.tasks.items()
        if not name.startswith("celery.") and (task.time_limit or default) >= timeout
    )


def _record_heartbeat(hostname: str) -> None:
    # /healthz reads these keys; the TTL makes a dead worker disappear without anyone cleaning up.
    from django.conf import settings

    from config.health import redis_client

    key = HEARTBEAT_KEY.format(queue=settings.CELERY_TASK_DEFAULT_QUEUE, hostname=hostname)
    redis_client().set(key, str(time.time()), ex=settings.WORKER_HEARTBEAT_TTL)


@worker_ready.connect
def _on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    _record_heartbeat(sender.hostname)
    if outlasting := tasks_outlasting_visibility_timeout(load=False):
        logger.error(
            "CELERY_VISIBILITY_TIMEOUT is not longer than the time limit of %s: raise it, or such a task can be "
            "handed to a second worker while it runs",
            ", ".join(outlasting),
        )


@heartbeat_sent.connect
def _on_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    _record_heartbeat(sender.eventer.hostname)


@worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    from django.conf import settings

    from config.health import redis_client

    hostname = getattr(sender, "hostname", None)
    if hostname:
        redis_client().delete(HEARTBEAT_KEY.format(queue=settings.CELERY_TASK_DEFAULT_QUEUE, hostname=hostname))
