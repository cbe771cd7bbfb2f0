from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from deployments.gateway import ModelEndpointError, chat_complete, chat_stream
from deployments.models import Deployment, ModelCall
from deployments.services import deployment_save

pytestmark = pytest.mark.vllm


def test_streams_from_local_model_and_logs_the_call(local_deployment: Deployment, engagement: Any) -> None:
    stream = chat_stream(
        deployment=local_deployment,
        messages=[("system", "You are terse."), ("user", "Name three colours.")],
        caller="test.gateway",
        engagement=engagement,
        max_tokens=24,
    )
    pieces = list(stream)

    assert len(pieces) > 1
    call = ModelCall.objects.get()
    assert call == stream.call
    assert call.status == ModelCall.Status.OK
    assert call.caller == "test.gateway"
    assert call.engagement == engagement
    assert call.prompt_tokens and call.prompt_tokens > 5
    assert call.completion_tokens and 1 < call.completion_tokens <= 24
    assert call.ttft_ms is not None and 0 < call.ttft_ms <= call.total_ms
    assert call.gap_count == len(pieces) - 1
    assert call.gap_p50_ms is not None and call.gap_p95_ms is not None and call.gap_max_ms is not None
    assert call.gap_p50_ms <= call.gap_p95_ms <= call.gap_max_ms


def test_json_schema_constrains_the_output(local_deployment: Deployment) -> None:
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
        "required": ["score"],
    }
    stream = chat_complete(
        deployment=local_deployment,
        messages=[("user", "Rate the sky from 1 to 5 as JSON.")],
        caller="test.judge",
        json_schema=schema,
        max_tokens=20,
    )

    assert 1 <= json.loads(stream.text)["score"] <= 5


def test_closed_port_gives_a_clear_error_and_a_log_row(closed_port_deployment: Deployment) -> None:
    with pytest.raises(ModelEndpointError) as caught:
        chat_complete(deployment=closed_port_deployment, messages=[("user", "hi")], caller="test.down")

    assert "Nobody home" in str(caught.value)
    assert "refused the connection" in str(caught.value)
    assert "/healthz" in str(caught.value)
    call = ModelCall.objects.get()
    assert call.status == ModelCall.Status.UNREACHABLE
    assert call.completion_tokens is None


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers, like a wedged model server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_silent_endpoint_times_out_with_a_clear_error(db: Any, silent_server: int) -> None:
    deployment = deployment_save(
        name="Wedged", base_url=f"http://127.0.0.1:{silent_server}/v1", served_model_name="none"
    )

    with pytest.raises(ModelEndpointError) as caught:
        chat_complete(deployment=deployment, messages=[("user", "hi")], caller="test.slow", read_timeout=1)

    assert "did not answer within 1 s" in str(caught.value)
    assert ModelCall.objects.get().status == ModelCall.Status.TIMEOUT


def test_trickling_endpoint_is_cut_at_the_overall_deadline_and_says_so(db: Any) -> None:
    import time

    from tests.deployments import servers

    server = servers.ScriptedServer(servers.trickle)
    try:
        deployment = deployment_save(name="Trickle", base_url=server.base_url, served_model_name="none")
        started = time.monotonic()
        with pytest.raises(ModelEndpointError) as caught:
            chat_complete(deployment=deployment, messages=[("user", "hi")], caller="t", read_timeout=2, deadline=3)
    finally:
        server.close()

    assert time.monotonic() - started < 8
    assert caught.value.limit == "deadline"
    assert "still answering after 3 s" in str(caught.value) and "MODEL_CALL_DEADLINE" in str(caught.value)
    assert ModelCall.objects.get().status == ModelCall.Status.TIMEOUT


def test_silent_endpoint_names_the_read_timeout(db: Any, silent_server: int) -> None:
    deployment = deployment_save(name="Mute", base_url=f"http://127.0.0.1:{silent_server}/v1", served_model_name="x")
    with pytest.raises(ModelEndpointError) as caught:
        chat_complete(deployment=deployment, messages=[("user", "hi")], caller="t", read_timeout=1, deadline=30)
    assert caught.value.limit == "read_timeout" and "read timeout between bytes" in str(caught.value)
