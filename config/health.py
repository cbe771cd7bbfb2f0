"""Health of every part of the stack, for /healthz and the status indicator in the page header."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.db import connection

Check = dict[str, Any]


@cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _timed(fn: Callable[[], dict[str, Any]]) -> Check:
    started = time.perf_counter()
    try:
        result = {"ok": True, **fn()}
    except Exception as exc:  # a health check reports every failure instead of raising it
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database() -> Check:
    """Asked on a connection of its own, so it can run on a pool thread with a deadline (see ``check_all``)."""

    def probe() -> dict[str, Any]:
        params = connection.get_connection_params()
        with psycopg.connect(**params, autocommit=True) as conn:
            conn.execute(
                "SELECT set_config('statement_timeout', %s, false)", [f"{int(settings.HEALTH_CHECK_TIMEOUT * 1000)}ms"]
            )
            row = conn.execute(
                "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension "
                "WHERE extname = 'vector')"
            ).fetchone()
        server_version, pgvector = row if row is not None else (None, None)
        if not pgvector:
            raise RuntimeError("the pgvector extension is not installed in this database (CREATE EXTENSION vector)")
        return {"postgres": server_version, "pgvector": pgvector}

    return _timed(probe)


def check_redis() -> Check:
    return _timed(lambda: {"ping": bool(redis_client().ping())})


def check_worker() -> Check:
    def probe() -> dict[str, Any]:
        client = redis_client()
        pattern = f"fde:worker-heartbeat:{settings.CELERY_TASK_DEFAULT_QUEUE}:*"
        workers = {}
        for key in client.scan_iter(match=pattern, count=100):
            stamp = client.get(key)
            if stamp:
                workers[key.decode().rsplit(":", 1)[-1]] = round(time.time() - float(stamp), 1)  # type: ignore[arg-type]
        if not workers:
            raise RuntimeError(f"no Celery worker has sent a heartbeat in {settings.WORKER_HEARTBEAT_TTL} s")
        return {"workers": len(workers), "seconds_since_heartbeat": min(workers.values())}

    return _timed(probe)


def check_models() -> list[Check]:
    """The model endpoints' last health checks, as the periodic check stored them: /healthz never calls out."""
    from deployments.selectors import deployment_health_report

    return deployment_health_report()


# Every check runs here, so a service that hangs (a frozen database answers no packet at all, and a server-side
# statement timeout never fires) holds one of these threads, never the request: the report is due within its
# deadline whatever happens. A hung check's thread is reused once the service answers or its connection breaks.
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


def _within(future: Future[Check], deadline: float) -> Check:
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        limit = settings.HEALTH_CHECK_TIMEOUT + 1
        return {"ok": False, "error": f"did not answer within {limit:.0f} s", "latency_ms": limit * 1000}


def check_all() -> dict[str, Any]:
    """Every component side by side, each given the same deadline: one slow service costs its own timeout only."""
    deadline = time.monotonic() + settings.HEALTH_CHECK_TIMEOUT + 1
    database, redis_, worker = _pool.submit(check_database), _pool.submit(check_redis), _pool.submit(check_worker)
    checks: dict[str, Any] = {
        "database": _within(database, deadline),
        "redis": _within(redis_, deadline),
        "worker": _within(worker, deadline),
    }
    # The models' stored checks are rows in the database (read here, on the request's own connection, so a
    # request sees what it wrote); with the database down or hanging there is nothing to read.
    checks["models"] = _timed_models() if checks["database"]["ok"] else []
    critical_ok = checks["database"]["ok"] and checks["redis"]["ok"]
    all_ok = critical_ok and checks["worker"]["ok"] and all(m["ok"] for m in checks["models"])
    checks["status"] = "ok" if all_ok else ("degraded" if critical_ok else "down")
    return checks


def _timed_models() -> list[Check]:
    try:
        return check_models()
    except Exception:  # the database is down: its own check says so
        return []


def public_view(checks: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see: the overall status and up/down per component, with no names, addresses or ids."""

    def state(ok: bool) -> str:
        return "up" if ok else "down"

    return {
        "status": checks["status"],
        "components": {
            "database": state(checks["database"]["ok"]),
            "redis": state(checks["redis"]["ok"]),
            "worker": state(checks["worker"]["ok"]),
            "models": state(all(m["ok"] for m in checks["models"])),
        },
    }


def down_view(error: str) -> dict[str, Any]:
    """The answer when the checks themselves could not run: everything is reported down."""
    failed = {"ok": False, "error": error, "latency_ms": 0.0}
    return {"database": failed, "redis": failed, "worker": failed, "models": [], "status": "down"}
