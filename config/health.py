"""Health of every part of the stack, for /healthz and the status indicator in the page header."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction

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
        with transaction.atomic(), connection.cursor() as cursor:
            # Local to this transaction, so a reused connection keeps its normal timeout afterwards.
            timeout = f"{int(settings.HEALTH_CHECK_TIMEOUT * 1000)}ms"
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [timeout])
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
                workers[key.decode().rsplit(":", 1)[-1]] = round(time.time() - float(stamp), 1)  # type: ignore[arg-type]
        if not workers:
            raise RuntimeError(f"no Celery worker has sent a heartbeat in {settings.WORKER_HEARTBEAT_TTL} s")
        return {"workers": len(workers), "seconds_since_heartbeat": min(workers.values())}

    return _timed(probe)


def check_models() -> list[Check]:
    """The model endpoints' last health checks, as the periodic check stored them: /healthz never calls out."""
    from deployments.selectors import deployment_health_report

    return deployment_health_report()


def check_all() -> dict[str, Any]:
    database = check_database()
    # Redis and the workers are asked side by side so one slow service costs its own timeout, not the sum of all.
    with ThreadPoolExecutor(max_workers=2) as pool:
        redis_future = pool.submit(check_redis)
        worker_future = pool.submit(check_worker)
        checks: dict[str, Any] = {
            "database": database,
            "redis": redis_future.result(),
            "worker": worker_future.result(),
            # The models' stored checks are rows in the database; with it down there is nothing to read.
            "models": _timed_models() if database["ok"] else [],
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
