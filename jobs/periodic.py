"""Periodic work: what Celery beat starts on a schedule, when each last ran and how it ended.

A health check, a metrics scrape or the sweeper is not a job: nobody waits on one, nobody cancels or retries it by
hand, and the next run replaces it. What a person needs is to see that each runs on time and why it last failed.
Celery's task signals record that for every task in ``CELERY_BEAT_SCHEDULE``, in Redis, without touching the tasks;
the Jobs page shows it and ``/metrics`` exports it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun
from django.conf import settings
from django.core.cache import cache
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

LATE_AFTER_PERIODS = 3  # a task not started for this many of its periods (plus a minute) is late
_KEY = "periodic:{}"


def scheduled() -> dict[str, float | None]:
    """Each scheduled task's name and its period in seconds (None for a crontab-like schedule)."""
    periods: dict[str, float | None] = {}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        every = entry.get("schedule")
        if isinstance(every, dt.timedelta):
            periods[entry["task"]] = every.total_seconds()
        else:
            periods[entry["task"]] = float(every) if isinstance(every, int | float) else None
    return periods


def _update(task: Any, **values: Any) -> None:
    name = getattr(task, "name", None)
    if name not in scheduled():
        return
    try:
        record = cache.get(_KEY.format(name)) or {}
        record.update(values)
        cache.set(_KEY.format(name), record, timeout=None)
    except Exception:  # the record is a convenience: it must never fail the task it describes
        logger.warning("could not record the run of %s", name, exc_info=True)


@task_prerun.connect
def _started(task: Any = None, **_: Any) -> None:
    _update(task, started_at=time.time())


@task_failure.connect
def _failed(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    _update(sender, failed_at=time.time(), error=f"{type(exception).__name__}: {exception}"[:500])


@task_postrun.connect
def _ended(task: Any = None, state: str | None = None, retval: Any = None, **_: Any) -> None:
    values: dict[str, Any] = {"finished_at": time.time(), "state": state or ""}
    if state == "SUCCESS":
        values.update(succeeded_at=values["finished_at"], result=_summary(retval))
    _update(task, **values)


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        value = {key: len(item) if isinstance(item, list | tuple | set) else item for key, item in value.items()}
    text = "" if value is None else str(value)
    return text if len(text) <= 120 else text[:119] + "…"


@dataclass(frozen=True)
class PeriodicState:
    task: str
    every: float | None
    started_at: float | None = None
    finished_at: float | None = None
    succeeded_at: float | None = None
    failed_at: float | None = None
    state: str = ""
    error: str = ""
    result: str = ""

    @property
    def late(self) -> bool:
        """Started before, but not for three of its periods: beat or every worker has stopped."""
        if self.every is None or self.started_at is None:
            return False  # never run here yet (a new install, or records lost with Redis): shown as such
        return time.time() - self.started_at > LATE_AFTER_PERIODS * self.every + 60

    @property
    def failing(self) -> bool:
        """Whether its last run ended in an error."""
        return bool(self.failed_at) and (self.succeeded_at or 0) < (self.failed_at or 0)

    @staticmethod
    def when(stamp: float | None) -> dt.datetime | None:
        return dt.datetime.fromtimestamp(stamp, tz=dt.UTC) if stamp else None

    def started(self) -> dt.datetime | None:
        return self.when(self.started_at)

    def succeeded(self) -> dt.datetime | None:
        return self.when(self.succeeded_at)

    def failed(self) -> dt.datetime | None:
        return self.when(self.failed_at)


def periodic_states() -> list[PeriodicState] | None:
    """Every scheduled task's last run, most urgent first; None when Redis cannot be read."""
    periods = scheduled()
    try:
        records = cache.get_many([_KEY.format(name) for name in periods])
    except Exception:
        logger.warning("could not read the periodic work's records", exc_info=True)
        return None
    fields = set(PeriodicState.__dataclass_fields__) - {"task", "every"}
    states = [
        PeriodicState(
            task=name,
            every=every,
            **{k: v for k, v in (records.get(_KEY.format(name)) or {}).items() if k in fields},
        )
        for name, every in periods.items()
    ]
    return sorted(states, key=lambda s: (not s.failing, not s.late, s.task))


class PeriodicCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        success = GaugeMetricFamily(
            "fde_periodic_last_success_timestamp_seconds",
            "When each scheduled task last finished without an error (Unix time; absent if it never has)",
            labels=["task"],
        )
        late = GaugeMetricFamily(
            "fde_periodic_late",
            "1 when a scheduled task that ran has not started for three of its periods",
            labels=["task"],
        )
        for state in periodic_states() or []:
            if state.succeeded_at:
                success.add_metric([state.task], state.succeeded_at)
            late.add_metric([state.task], 1.0 if state.late else 0.0)
        yield success
        yield late
