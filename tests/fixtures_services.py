"""Real services for tests that need them: a Celery worker on real Redis, the local vLLM, a Chromium browser."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "log"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WorkerProcess:
    """A real ``celery worker`` subprocess consuming this test session's own queue."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.proc: subprocess.Popen[bytes] | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"test-worker-{os.getpid()}.log"

    def start(self, concurrency: int = 2) -> None:
        from django.conf import settings

        from config.health import check_worker, redis_client

        hostname = f"test-{uuid.uuid4().hex[:8]}@%h"
        env = {**os.environ, "DATABASE_URL": self.database_url}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "-c",
                str(concurrency),
                "-n",
                hostname,
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for key in redis_client().scan_iter(match=f"fde:worker-heartbeat:{settings.CELERY_TASK_DEFAULT_QUEUE}:*"):
            redis_client().delete(key)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Celery worker exited at start; see {self.log_path}")
            if check_worker()["ok"]:
                return
            time.sleep(0.3)
        self.kill()  # never leave a worker behind that could take another run's tasks
        raise RuntimeError(f"the Celery worker did not report ready within 90 s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def session_database_url() -> str:
    """DATABASE_URL pointed at the test session's database, for processes the tests start beside themselves."""
    from django.db import connection

    base_url = os.environ["DATABASE_URL"]
    test_name = connection.settings_dict["NAME"]
    head, _, tail = base_url.partition("?")
    return head.rsplit("/", 1)[0] + f"/{test_name}" + (f"?{tail}" if tail else "")


@pytest.fixture(scope="session")
def _worker_process(django_db_setup: Any, django_db_blocker: Any) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(session_database_url())
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(transactional_db: Any, _worker_process: WorkerProcess) -> Iterator[WorkerProcess]:
    """A running real worker; the test's data is committed so the worker can read it."""
    if _worker_process.proc is None or _worker_process.proc.poll() is not None:
        _worker_process.start()
    yield _worker_process
    if _worker_process.proc is None or _worker_process.proc.poll() is not None:
        _worker_process.start()  # leave a live worker for the next test after a kill test


def wait_for(predicate: Any, *, timeout: float = 60, interval: float = 0.25, message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


# --- the local vLLM -------------------------------------------------------------------------------------------


def _vllm_serves(base_url: str, model: str) -> bool:
    try:
        response = httpx.get(f"{base_url}/models", timeout=2)
        return response.status_code == 200 and any(m["id"] == model for m in response.json()["data"])
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def vllm_server() -> Iterator[dict[str, str]]:
    """The local model server: the one `make run` started if it answers, otherwise one started for this session."""
    from django.conf import settings

    model = settings.LOCAL_VLLM_MODEL
    if _vllm_serves(settings.LOCAL_VLLM_URL, model):
        yield {"base_url": settings.LOCAL_VLLM_URL, "model": model}
        return
    python = BASE_DIR / "var" / "vllm-venv" / "bin" / "python"
    if not python.exists() or not (BASE_DIR / "var" / "models" / "smollm2-135m" / "config.json").exists():
        pytest.fail("The local vLLM is not installed: run `make model` (make test does it) and try again.")
    port = _free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = (LOG_DIR / f"test-vllm-{os.getpid()}.log").open("ab")
    proc = subprocess.Popen(
        ["bash", str(BASE_DIR / "scripts" / "vllm-serve.sh"), str(port)],
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for(
            lambda: proc.poll() is not None or _vllm_serves(base_url, model),
            timeout=300,
            interval=1,
            message="the local vLLM to serve",
        )
        if proc.poll() is not None:
            pytest.fail(f"the local vLLM exited at start; see {log.name}")
        yield {"base_url": base_url, "model": model}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# --- Chromium through Playwright ------------------------------------------------------------------------------


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if not path:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium (apt-get install chromium).")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    from engagements.review.pdf import CHROMIUM_ARGS  # the same flags as the Chromium that prints review packs

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def login(page: Any, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
