from __future__ import annotations

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


def _record_heartbeat(hostname: str) -> None:
    # /healthz reads these keys; the TTL makes a dead worker disappear without anyone cleaning up.
    from django.conf import settings

    from config.health import redis_client

    key = HEARTBEAT_KEY.format(queue=settings.CELERY_TASK_DEFAULT_QUEUE, hostname=hostname)
    redis_client().set(key, str(time.time()), ex=settings.WORKER_HEARTBEAT_TTL)


@worker_ready.connect
def _on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    _record_heartbeat(sender.hostname)


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
