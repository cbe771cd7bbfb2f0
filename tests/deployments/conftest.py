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
