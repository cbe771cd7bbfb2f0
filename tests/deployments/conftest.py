from __future__ import annotations

import socket
from typing import Any

import pytest

from deployments.models import Deployment
from deployments.services import deployment_save


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


# --- the OpenAI-compatible gateway -------------------------------------------------------------------------------

from collections.abc import Iterator  # noqa: E402

from accounts.models import User  # noqa: E402
from deployments.applications import application_create, gateway_key_create  # noqa: E402
from deployments.models import ClientApplication  # noqa: E402
from tests.deployments.servers import GatewayProcess  # noqa: E402
from tests.fixtures_services import session_database_url  # noqa: E402

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
