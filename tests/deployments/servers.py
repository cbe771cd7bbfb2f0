"""Small real servers on real ports that misbehave the way model servers do, and the gateway process itself."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent.parent
LOG_DIR = BASE_DIR / "var" / "log"

Behaviour = Callable[[socket.socket, bytes], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScriptedServer:
    """Accepts connections on a real port and runs ``behaviour`` on each, one thread per connection."""

    def __init__(self, behaviour: Behaviour, port: int = 0) -> None:
        self.behaviour = behaviour
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            self.requests.append(request.partition(b"\r\n\r\n")[2])
            self.behaviour(conn, request)
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.connections:
            with contextlib.suppress(OSError):
                conn.close()
        self.sock.close()


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _event(text: str) -> bytes:
    payload = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [
        {"index": 0, "delta": {"content": text}, "finish_reason": None}]}  # fmt: skip
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
)


def silent(conn: socket.socket, request: bytes) -> None:
    """Accepts the request and never answers, like a wedged server."""
    time.sleep(120)


def trickle(conn: socket.socket, request: bytes) -> None:
    """Answers, then sends one byte a second for ever: never idle long enough for a read timeout."""
    conn.sendall(STREAM_HEAD)
    for _ in range(600):
        conn.sendall(_chunk(b" "))
        time.sleep(1)


def pauses_after_first_token(conn: socket.socket, request: bytes) -> None:
    """Streams one token, then thinks for 25 s before the rest; records in ``hung_up`` when the caller closes."""
    conn.sendall(STREAM_HEAD + _chunk(_event("Hello")))
    conn.settimeout(0.2)
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        try:
            if conn.recv(1) == b"":
                hung_up.append(time.monotonic())
                return
        except TimeoutError:
            continue
    conn.sendall(_chunk(_event(" there")) + _chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")


hung_up: list[float] = []


def drops_first_connections(drops: int) -> Behaviour:
    """Closes the first ``drops`` connections without a word (a server restarting), then answers normally."""
    seen: list[socket.socket] = []

    def behaviour(conn: socket.socket, request: bytes) -> None:
        seen.append(conn)
        if len(seen) <= drops:
            conn.close()
            return
        body = json.dumps({"id": "c1", "object": "chat.completion", "model": "m", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Back again"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}).encode()  # fmt: skip
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
        conn.close()

    return behaviour


def dies_mid_stream(conn: socket.socket, request: bytes) -> None:
    """Streams two tokens, then the process dies: the connection drops inside the chunked body."""
    conn.sendall(STREAM_HEAD + _chunk(_event("Hello")) + _chunk(_event(" there")) + b"40\r\ndata: {")
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()


def malformed_stream(conn: socket.socket, request: bytes) -> None:
    conn.sendall(STREAM_HEAD + _chunk(_event("Hi")) + _chunk(b"data: <html>Bad gateway</html>\n\n") + b"0\r\n\r\n")
    conn.close()


def malformed_json(conn: socket.socket, request: bytes) -> None:
    body = b"<html><body>502 Bad Gateway</body></html>"
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    conn.close()


def refuses_key(conn: socket.socket, request: bytes) -> None:
    body = json.dumps({"error": {"message": "Invalid API key sk-upstream-secret", "type": "auth"}}).encode()
    conn.sendall(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    conn.close()


def relay_to(port: int) -> Behaviour:
    """Passes the request on to a real server at ``port`` and its answer back: a server that came back to life."""

    def behaviour(conn: socket.socket, request: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port)) as upstream:
            upstream.sendall(request.replace(b"Connection: keep-alive", b"Connection: close"))
            while data := upstream.recv(65536):
                conn.sendall(data)
        conn.close()

    return behaviour


class GatewayProcess:
    """The real gateway (uvicorn running deployments.proxy.asgi) on a free port, against the test database."""

    def __init__(self, database_url: str, **settings: str) -> None:
        self.port = free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"test-gateway-{os.getpid()}-{self.port}.log"
        env = {**os.environ, "DATABASE_URL": database_url, "GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(self.port),
               **settings}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deployments.proxy"],  # as the Procfile starts it
            cwd=BASE_DIR, env=env, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited at start; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the gateway did not answer within 60 s; see {self.log_path}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class PacedServer:
    """``tests.deployments.paced_app`` under uvicorn in its own process, so its timing shares no GIL with the test."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = (LOG_DIR / f"test-paced-{os.getpid()}-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.deployments.paced_app:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
            cwd=BASE_DIR, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the paced server did not start")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
