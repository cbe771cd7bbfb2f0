from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.models import User
from deployments.applications import application_create, gateway_key_create
from deployments.catalogue import catalogue_seed
from deployments.models import ClientApplication, Deployment, HardwareType
from deployments.services import deployment_save
from tests.deployments.servers import GatewayProcess
from tests.fixtures_services import session_database_url


@pytest.fixture(autouse=True)
def hardware_catalogue(db: Any) -> None:
    """The catalogue the migrations seed; a transactional test's flush empties it, so put it back for each test."""
    catalogue_seed(HardwareType)


@pytest.fixture
def local_deployment(db: Any, vllm_server: dict[str, str]) -> Deployment:
    return deployment_save(
        name="Local test model", base_url=vllm_server["base_url"], served_model_name=vllm_server["model"]
    )


@pytest.fixture
def closed_port_deployment(db: Any) -> Deployment:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the socket is closed again, so nothing listens on the port
    return deployment_save(name="Nobody home", base_url=f"http://127.0.0.1:{port}/v1", served_model_name="none")


@dataclass
class StandIn:
    """A small HTTP server on a real local port that records what it was sent and answers what a test sets."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    routes: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # path -> (status, content type, body)

    def serve_models(self, *names: str) -> None:
        body = json.dumps({"object": "list", "data": [{"id": n, "object": "model"} for n in names]})
        self.routes["/v1/models"] = (200, "application/json", body)

    def serve_metrics(self, text: str) -> None:
        self.routes["/metrics"] = (200, "text/plain; version=0.0.4", text)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server_box: dict[str, StandIn] = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            stand = server_box["s"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            stand.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
            )
            status, content_type, text = stand.routes.get(self.path, (404, "text/plain", "not found"))
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_box["s"] = StandIn(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_box["s"]
    server.shutdown()
    server.server_close()


# --- the OpenAI-compatible gateway -------------------------------------------------------------------------------

# Small numbers so a test sees the breaker open and close, and a revoked key refused, within seconds.
GATEWAY_TEST_SETTINGS = {
    "GATEWAY_BREAKER_FAILURES": "2",
    "GATEWAY_BREAKER_RESET_SECONDS": "8",
    "GATEWAY_KEY_CACHE_SECONDS": "0.5",
    "GATEWAY_CONNECT_RETRIES": "2",
    "MODEL_READ_TIMEOUT": "30",
    "GATEWAY_CALL_DEADLINE": "60",
}


@pytest.fixture(scope="session")
def _gateway_process(django_db_setup: Any, django_db_blocker: Any) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(session_database_url(), **GATEWAY_TEST_SETTINGS)
    yield gateway
    gateway.stop()


@pytest.fixture
def gateway(transactional_db: Any, _gateway_process: GatewayProcess) -> GatewayProcess:
    """The running gateway process; the test's data is committed so the gateway can read it."""
    return _gateway_process


@pytest.fixture
def application(gateway: GatewayProcess, engagement: Any, fde: User) -> ClientApplication:
    return application_create(engagement=engagement, name="Support bot", actor=fde)


def make_key(application: ClientApplication, *deployments: Deployment, **options: Any) -> str:
    return gateway_key_create(application=application, name="test", deployments=deployments, actor=None, **options)[1]
