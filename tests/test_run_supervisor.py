"""`make run` under its supervisor: a process killed outright comes back, and so do PostgreSQL and Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures_services import wait_for

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "scripts"))

pytestmark = pytest.mark.vllm


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def run_dir() -> Any:
    # Under var/, not the system temp folder: PostgreSQL runs as its own user, who must reach its data folder.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="runtest-", dir=BASE_DIR / "var"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def stack(run_dir: Path, vllm_server: dict[str, str]) -> Any:
    tmp_path = run_dir
    web_port = _free_port()
    session = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # the run starts its own embedded database
    env.update(
        WEB_PORT=str(web_port),
        VLLM_PORT=str(_free_port()),
        LOCAL_VLLM_URL=vllm_server["base_url"],
        REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0",
        FDE_EMBEDDED_PGDATA=str(tmp_path / "pgdata"),
        FDE_RUN_DIR=str(tmp_path / "run"),
        CELERY_QUEUE=f"run-{session}",
        REDIS_KEY_PREFIX=f"run-{session}",
        CELERY_CONCURRENCY="1",
    )
    output = (tmp_path / "run.out").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "scripts/run.py"], cwd=BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
    )
    log = tmp_path / "run.out"
    try:
        wait_for(
            lambda: proc.poll() is not None or "FDE Toolkit is running" in log.read_text(),
            timeout=600,
            interval=1,
            message="make run to serve",
        )
        assert proc.poll() is None, log.read_text()[-3000:]
        from run import Supervisor

        supervisor = Supervisor.__new__(Supervisor)
        supervisor.socket = tmp_path / "run" / "supervisor.sock"
        yield {"proc": proc, "log": log, "url": f"http://127.0.0.1:{web_port}", "supervisor": supervisor}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()


def _restarted(stack: Any, name: str) -> int:
    supervisor = stack["supervisor"]
    old = supervisor.info(name)["pid"]
    os.kill(old, signal.SIGKILL)
    wait_for(
        lambda: f"==> {name} (pid {old}) stopped unexpectedly; the supervisor restarts it" in stack["log"].read_text(),
        timeout=60,
        message=f"the line saying {name} died",
    )
    info = wait_for(
        lambda: (i := supervisor.info(name))["statename"] == "RUNNING" and i["pid"] != old and i,
        timeout=120,
        message=f"{name} to run again",
    )
    return int(info["pid"])


def _healthy(stack: Any) -> bool:
    try:
        return httpx.get(f"{stack['url']}/healthz", timeout=10).json()["status"] == "ok"
    except (httpx.HTTPError, ValueError, KeyError):
        return False


def test_a_killed_worker_database_and_redis_come_back_and_ctrl_c_stops_everything(stack: Any, run_dir: Path):
    tmp_path = run_dir
    worker_log = tmp_path / "log" / "worker.log"
    ready_before = worker_log.read_text().count("ready.")
    new_worker = _restarted(stack, "worker")
    wait_for(lambda: worker_log.read_text().count("ready.") > ready_before, timeout=180, message="the worker ready")
    # The supervisor's event reaches make run's output on its own schedule, not before the worker's own log line.
    wait_for(
        lambda: f"==> worker is running (pid {new_worker})" in stack["log"].read_text(),
        timeout=60,
        message="the line saying the worker runs again",
    )

    _restarted(stack, "redis")
    _restarted(stack, "postgres")
    wait_for(lambda: _healthy(stack), timeout=180, message="the whole stack healthy again")

    stack["proc"].send_signal(signal.SIGINT)
    assert stack["proc"].wait(120) == 0
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], "Ctrl-C left processes of the stack running"
