"""Starts the stack's stateful services for the test session, before Django reads its settings.

Loaded with ``-p tests.plugin_stack`` so it runs ahead of pytest-django:
- one embedded PostgreSQL (with pgvector) per session, in its own data folder, so two test runs on one machine
  never share a database (``DATABASE_URL`` set by the caller skips this);
- Redis at ``REDIS_URL``, or a private ``redis-server`` for the session when none answers;
- a Celery queue name and a Redis key prefix of the session's own, so a test worker never takes another run's
  tasks and two runs never share a cache entry or a rate-limit counter.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

VAR = Path(__file__).resolve().parent.parent / "var"
_cleanups: list[Any] = []


def _start_postgres() -> None:
    from config import embedded_db

    VAR.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="pgtest-", dir=VAR))
    server = embedded_db.start(root / "data", cleanup_mode="stop")
    os.environ["DATABASE_URL"] = server.get_uri(database=embedded_db.DATABASE_NAME)

    def cleanup() -> None:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)

    _cleanups.append(cleanup)


def _ensure_redis() -> None:
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return
    except redis.RedisError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        raise pytest.UsageError(
            f"No Redis answers at {url} and redis-server is not installed; start Redis or set REDIS_URL."
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        try:
            redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=1).ping()
            break
        except redis.RedisError:
            time.sleep(0.1)

    def cleanup() -> None:
        proc.terminate()
        proc.wait(10)

    _cleanups.append(cleanup)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    session = uuid.uuid4().hex[:12]
    os.environ.setdefault("CELERY_QUEUE", f"test-{session}")
    os.environ.setdefault("REDIS_KEY_PREFIX", f"test-{session}")
    os.environ.setdefault("FDE_ENV", "development")
    _ensure_redis()
    if not os.environ.get("DATABASE_URL"):
        _start_postgres()


def pytest_unconfigure(config: pytest.Config) -> None:
    while _cleanups:
        _cleanups.pop()()
