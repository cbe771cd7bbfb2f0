from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("run_script", Path(__file__).parent.parent / "scripts" / "run.py")
assert _spec and _spec.loader
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)


def test_a_taken_web_port_stops_the_start_with_what_to_do():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(run.StartError, match=f"port {port} is taken.*set WEB_PORT"):
            run.preflight({"WEB_PORT": str(port), "VLLM_PORT": "0", "GATEWAY_PORT": "0"})


def test_too_little_disk_stops_the_start(monkeypatch):
    monkeypatch.setattr(run, "MIN_FREE_DISK", 10**18)
    with pytest.raises(run.StartError, match="free at least 2 GiB"):
        run.preflight({"WEB_PORT": "0", "VLLM_PORT": "0", "GATEWAY_PORT": "0"})


def test_no_redis_and_no_redis_server_binary_stops_the_start(monkeypatch):
    monkeypatch.setattr(run.shutil, "which", lambda name: None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port}/0"}
    with pytest.raises(run.StartError, match=r"no redis-server to start.*REDIS_URL"):
        run.start_redis(env)


def test_a_remote_redis_that_does_not_answer_is_reported_not_started():
    with pytest.raises(run.StartError, match="does not answer"):
        run.start_redis({"REDIS_URL": "redis://redis.invalid:6379/0"})


def test_a_local_redis_is_started_when_none_answers(tmp_path, monkeypatch):
    if run.shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed here")
    monkeypatch.setattr(run, "VAR", tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    proc = run.start_redis({"REDIS_URL": f"redis://127.0.0.1:{free_port}/0"})
    try:
        assert proc is not None and proc.poll() is None
    finally:
        assert proc is not None
        proc.terminate()
        proc.wait(10)
