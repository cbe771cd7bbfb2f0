"""Health of every part of the stack, for /healthz and the status indicator in the page header."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

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
    def probe() -> dict[str, Any]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('server_version'), (SELECT extversion FROM pg_extension "
                "WHERE extname = 'vector')"
            )
            server_version, pgvector = cursor.fetchone()
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
                workers[key.decode().rsplit(":", 1)[-1]] = round(time.time() - float(stamp), 1)
        if not workers:
            raise RuntimeError(f"no Celery worker has sent a heartbeat in {settings.WORKER_HEARTBEAT_TTL} s")
        return {"workers": len(workers), "seconds_since_heartbeat": min(workers.values())}

    return _timed(probe)


def check_models() -> list[Check]:
    """The model endpoints' last health checks, as the periodic check stored them: /healthz never calls out."""
    from deployments.selectors import deployment_health_report

    return deployment_health_report()


def check_all() -> dict[str, Any]:
    # Network checks run side by side so one slow service costs its own timeout, not the sum of all.
    with ThreadPoolExecutor(max_workers=4) as pool:
        redis_future = pool.submit(check_redis)
        worker_future = pool.submit(check_worker)
        database = check_database()
        checks: dict[str, Any] = {
            "database": database,
            "redis": redis_future.result(),
            "worker": worker_future.result(),
            "models": _timed_models(),
        }
    critical_ok = checks["database"]["ok"] and checks["redis"]["ok"]
    all_ok = critical_ok and checks["worker"]["ok"] and all(m["ok"] for m in checks["models"])
    checks["status"] = "ok" if all_ok else ("degraded" if critical_ok else "down")
    return checks


def _timed_models() -> list[Check]:
    try:
        return check_models()
    except Exception:  # the database is down: its own check says so
        return []
