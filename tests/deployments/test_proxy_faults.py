from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from deployments.models import ModelCall
from deployments.services import deployment_save
from tests.deployments import servers
from tests.deployments.conftest import GATEWAY_TEST_SETTINGS, make_key
from tests.deployments.servers import GatewayProcess, ScriptedServer
from tests.fixtures_services import session_database_url, wait_for


@pytest.fixture
def scripted() -> Iterator[Any]:
    started: list[ScriptedServer] = []

    def start(behaviour: servers.Behaviour, port: int = 0) -> ScriptedServer:
        server = ScriptedServer(behaviour, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def _deployment(name: str, base_url: str, **options: Any) -> Any:
    return deployment_save(name=name, base_url=base_url, served_model_name=name.lower().replace(" ", "-"), **options)


def _post(
    gateway: GatewayProcess, key: str, body: Any, path: str = "chat/completions", **kwargs: Any
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **kwargs.pop("headers", {})}
    return httpx.post(f"{gateway.base_url}/{path}", content=content, headers=headers, timeout=90, **kwargs)


def _chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8, **extra}


def _assert_clean_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code and error["type"] and error["message"]
    assert "Traceback" not in response.text and "127.0.0.1" not in response.text
    return str(error["message"])


def test_closed_port_answers_a_clear_error_and_is_logged(gateway, application, closed_port_deployment):
    key = make_key(application, closed_port_deployment)
    started = time.monotonic()
    response = _post(gateway, key, _chat("none"))

    message = _assert_clean_error(response, 503, "model_unreachable")
    assert "refused the connection" in message and "Retry" in message
    assert time.monotonic() - started < 10
    call = wait_for(lambda: ModelCall.objects.filter(application=application).first(), message="the log row")
    assert call.status == ModelCall.Status.UNREACHABLE and call.deployment == closed_port_deployment


def test_a_connection_dropped_before_any_answer_is_tried_again(gateway, application, scripted):
    """Two tries fail before a byte came back (GATEWAY_CONNECT_RETRIES is 2 here): the third answers."""
    restarting = scripted(servers.drops_first_connections(2))
    key = make_key(application, _deployment("Restarting", restarting.base_url))
    response = _post(gateway, key, _chat("restarting"))
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Back again"
    assert len(restarting.requests) == 3
    call = wait_for(lambda: ModelCall.objects.filter(application=application).first(), message="the log row")
    assert call.status == ModelCall.Status.OK and call.completion_tokens == 2

    # one drop more than there are retries: the caller gets the error, after exactly three tries
    gone = scripted(servers.drops_first_connections(3))
    key = make_key(application, _deployment("Gone", gone.base_url))
    _assert_clean_error(_post(gateway, key, _chat("gone")), 502, "model_disconnected")
    assert len(gone.requests) == 3


def test_wrong_or_missing_key_is_refused(gateway, application, local_deployment):
    make_key(application, local_deployment)
    missing = httpx.post(f"{gateway.base_url}/chat/completions", json=_chat("x"), timeout=10)
    wrong = _post(gateway, "fgw-not-a-real-key", _chat("x"))

    assert "Authorization: Bearer" in _assert_clean_error(missing, 401, "missing_api_key")
    assert "revoked" in _assert_clean_error(wrong, 401, "invalid_api_key")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=gateway.base_url, api_key="fgw-wrong", max_retries=0).models.list()


@pytest.fixture
def guarded_gateway(django_db_setup: Any, django_db_blocker: Any) -> Iterator[GatewayProcess]:
    """A gateway of its own, with its own Redis keys: its lockout of 127.0.0.1 must not reach the other tests."""
    gateway = GatewayProcess(
        session_database_url(),
        **{**GATEWAY_TEST_SETTINGS, "GATEWAY_BAD_KEYS_PER_MINUTE": "3", "GATEWAY_KEY_CACHE_SECONDS": "60",
           "REDIS_KEY_PREFIX": f"guesses-{time.time_ns()}"},
    )  # fmt: skip
    yield gateway
    gateway.stop()


def test_an_address_guessing_keys_is_refused_for_a_minute(guarded_gateway, application, closed_port_deployment):
    in_use = make_key(application, closed_port_deployment)
    unused = make_key(application, closed_port_deployment)
    models = f"{guarded_gateway.base_url}/models"
    assert httpx.get(models, headers={"Authorization": f"Bearer {in_use}"}, timeout=10).status_code == 200

    for attempt in range(3):
        response = httpx.get(models, headers={"Authorization": f"Bearer fgw-guess-{attempt}"}, timeout=10)
        _assert_clean_error(response, 401, "invalid_api_key")
    response = httpx.get(models, headers={"Authorization": "Bearer fgw-guess-3"}, timeout=10)
    message = _assert_clean_error(response, 429, "too_many_invalid_keys")
    assert "keys that are not valid" in message and 1 <= int(response.headers["Retry-After"]) <= 60
    # a real key that was never used from here is refused too while the address is locked out...
    response = httpx.get(models, headers={"Authorization": f"Bearer {unused}"}, timeout=10)
    _assert_clean_error(response, 429, "too_many_invalid_keys")
    # ...but the key this program is already working with is not interrupted
    assert httpx.get(models, headers={"Authorization": f"Bearer {in_use}"}, timeout=10).status_code == 200


def test_a_revoked_key_stops_working(gateway, application, local_deployment):
    from deployments.applications import gateway_key_revoke
    from deployments.models import GatewayKey

    key = make_key(application, local_deployment)
    assert httpx.get(f"{gateway.base_url}/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    gateway_key_revoke(key=GatewayKey.objects.get(application=application))

    wait_for(
        lambda: httpx.get(f"{gateway.base_url}/models", headers={"Authorization": f"Bearer {key}"}).status_code == 401,
        message="the revoked key to be refused",
    )


def test_unknown_model_names_only_this_keys_models(gateway, application, local_deployment, closed_port_deployment):
    from deployments.applications import application_create

    other = application_create(engagement=application.engagement, name="Other app", actor=None)
    make_key(other, closed_port_deployment)
    key = make_key(application, local_deployment)

    message = _assert_clean_error(_post(gateway, key, _chat("gpt-9")), 404, "model_not_found")
    assert "gpt-9" in message and local_deployment.served_model_name in message
    assert closed_port_deployment.served_model_name not in message
    response = httpx.get(f"{gateway.base_url}/models", headers={"Authorization": f"Bearer {key}"})
    assert [m["id"] for m in response.json()["data"]] == [local_deployment.served_model_name]


def test_a_body_that_is_not_json_gets_400(gateway, application, local_deployment):
    key = make_key(application, local_deployment)
    message = _assert_clean_error(_post(gateway, key, b'{"model": "x", messages'), 400, "invalid_json")
    assert "not valid JSON" in message and "line 1" in message
    assert _post(gateway, key, [1, 2]).json()["error"]["code"] == "invalid_body"
    assert _post(gateway, key, {"messages": []}).json()["error"]["param"] == "model"
    assert httpx.get(f"{gateway.base_url}/chat/completions").json()["error"]["code"] == "method_not_allowed"
    assert httpx.get(f"{gateway.url}/v2/anything").json()["error"]["code"] == "not_found"


@pytest.mark.vllm
def test_a_request_over_the_context_window_is_refused_with_what_to_do(gateway, application, local_deployment):
    key = make_key(application, local_deployment)
    body = _chat(local_deployment.served_model_name)
    body["messages"][0]["content"] = "word " * 3000

    message = _assert_clean_error(_post(gateway, key, body), 400, "context_length_exceeded")
    assert "shorten the prompt or lower max_tokens" in message
    call = wait_for(lambda: ModelCall.objects.filter(application=application).first(), message="the log row")
    assert call.status == ModelCall.Status.REJECTED


def test_upstream_refusing_our_key_is_reported_without_its_details(gateway, application, scripted):
    server = scripted(servers.refuses_key)
    deployment = _deployment("Keyed", server.base_url, api_key="sk-upstream-secret")
    key = make_key(application, deployment)

    response = _post(gateway, key, _chat("keyed"))
    message = _assert_clean_error(response, 502, "upstream_auth")
    assert "tell your FDE" in message and "sk-upstream-secret" not in response.text
    assert json.loads(server.requests[0])["model"] == "keyed"


def test_malformed_upstream_answers_are_reported(gateway, application, scripted):
    plain = _deployment("Plain", scripted(servers.malformed_json).base_url)
    streamed = _deployment("Streamed", scripted(servers.malformed_stream).base_url)
    key = make_key(application, plain, streamed)

    _assert_clean_error(_post(gateway, key, _chat("plain")), 502, "bad_upstream_response")
    client = openai.OpenAI(base_url=gateway.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.APIError, match="could not read"):
        list(client.chat.completions.create(**_chat("streamed"), stream=True))
    wait_for(lambda: ModelCall.objects.filter(application=application).count() == 2, message="two log rows")
    assert set(ModelCall.objects.values_list("status", flat=True)) == {ModelCall.Status.ERROR}


def test_a_server_dying_mid_stream_ends_the_stream_with_an_error(gateway, application, scripted):
    deployment = _deployment("Dying", scripted(servers.dies_mid_stream).base_url)
    client = openai.OpenAI(base_url=gateway.base_url, api_key=make_key(application, deployment), max_retries=0)

    received: list[str] = []
    with pytest.raises(openai.APIError, match="stopped in the middle of the answer"):
        for chunk in client.chat.completions.create(**_chat("dying"), stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Hello there"
    call = wait_for(lambda: ModelCall.objects.filter(application=application).first(), message="the log row")
    assert call.status == ModelCall.Status.ERROR and "model_disconnected" in call.error
    assert call.ttft_ms is not None


def test_a_caller_hanging_up_mid_stream_frees_the_model_at_once(gateway, application, scripted):
    """The model is between tokens for 25 s: the gateway must notice the hang-up itself, not at the next token."""
    deployment = _deployment("Thinking", scripted(servers.pauses_after_first_token).base_url, gateway_concurrency=1)
    key = make_key(application, deployment)
    servers.hung_up.clear()
    body = json.dumps({**_chat("thinking"), "stream": True}).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{gateway.base_url}/chat/completions", content=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        first = next(response.iter_lines())
        assert "Hello" in first
        closed = time.monotonic()
    # leaving the block closes the connection mid-answer

    wait_for(lambda: servers.hung_up, timeout=10, message="the gateway to close its call to the model")
    assert servers.hung_up[0] - closed < 5
    call = wait_for(lambda: ModelCall.objects.filter(application=application).first(), message="the log row")
    assert call.status == ModelCall.Status.ERROR and call.error.startswith("client_closed")
    assert call.ttft_ms is not None
    # its one slot is free again: the next call starts at once instead of queueing behind the hung-up one
    with (
        httpx.Client(timeout=5) as client,
        client.stream("POST", f"{gateway.base_url}/chat/completions", content=body, headers=headers) as response,
    ):
        assert "Hello" in next(response.iter_lines())


@pytest.mark.vllm
def test_breaker_opens_on_a_dead_port_and_the_fallback_answers_then_it_closes_again(
    gateway, application, local_deployment, scripted
):
    port = servers.free_port()
    model = local_deployment.served_model_name
    dead = deployment_save(name="Primary", base_url=f"http://127.0.0.1:{port}/v1", served_model_name=model)
    dead.fallback = local_deployment
    dead.save()
    client = openai.OpenAI(base_url=gateway.base_url, api_key=make_key(application, dead), max_retries=0)

    failures = int(GATEWAY_TEST_SETTINGS["GATEWAY_BREAKER_FAILURES"])
    for _ in range(failures):
        assert client.chat.completions.create(**_chat(model)).choices[0].message.content is not None
    assert _breaker_state(dead) == "opened"
    # while it is open, calls go straight to the fallback without trying the dead port
    assert client.chat.completions.create(**_chat(model)).choices[0].message.content is not None
    wait_for(lambda: ModelCall.objects.filter(deployment=local_deployment).count() == failures + 1, message="rows")
    assert ModelCall.objects.filter(deployment=dead, status=ModelCall.Status.UNREACHABLE).count() == failures
    assert ModelCall.objects.filter(deployment=local_deployment, fallback_from=dead).count() == failures + 1

    # the server comes back on the same port: after the reset time one probe goes through and closes the breaker
    scripted(servers.relay_to(int(local_deployment.base_url.split(":")[-1].split("/")[0])), port=port)

    def primary_answers() -> bool:
        client.chat.completions.create(**_chat(model))
        return ModelCall.objects.filter(deployment=dead, status=ModelCall.Status.OK).exists()

    wait_for(primary_answers, timeout=60, interval=0.5, message="the half-open probe to close the breaker")
    assert _breaker_state(dead) == "closed"


def _breaker_state(deployment: Any) -> str:
    import redis
    from django.conf import settings

    stored: Any = redis.Redis.from_url(settings.REDIS_URL).get(
        f"{settings.REDIS_KEY_PREFIX}:gw:breaker:{deployment.pk}"
    )
    return str(json.loads(stored or "{}").get("state"))


@pytest.mark.vllm
def test_rate_limit_per_key_answers_429_with_retry_after(gateway, application, local_deployment):
    key = make_key(application, local_deployment, requests_per_minute=2)
    body = _chat(local_deployment.served_model_name, max_tokens=1)
    assert [_post(gateway, key, body).status_code for _ in range(2)] == [200, 200]

    response = _post(gateway, key, body)
    _assert_clean_error(response, 429, "rate_limit_exceeded")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    with pytest.raises(openai.RateLimitError):
        openai.OpenAI(base_url=gateway.base_url, api_key=key, max_retries=0).chat.completions.create(**body)


def _gated(release: threading.Event) -> servers.Behaviour:
    def behaviour(conn: Any, request: bytes) -> None:
        release.wait(60)
        body = json.dumps({"id": "x", "object": "chat.completion", "choices": [], "usage": None}).encode()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        conn.close()

    return behaviour


def test_interactive_calls_are_admitted_before_batch_ones_at_the_cap(gateway, application, scripted):
    import redis
    from django.conf import settings

    release = threading.Event()
    server = scripted(_gated(release))
    deployment = _deployment("Capped", server.base_url, context_window=2048)
    deployment.gateway_concurrency = 1
    deployment.save()
    key = make_key(application, deployment)

    def send(tag: str, priority: str) -> None:
        body = {"model": "capped", "messages": [{"role": "user", "content": tag}], "max_tokens": 1}
        _post(gateway, key, body, headers={"X-Priority": priority})

    threads = [threading.Thread(target=send, args=("first", "interactive"))]
    threads[0].start()
    wait_for(lambda: len(server.requests) == 1, message="the first call to hold the only slot")
    waiting = redis.Redis.from_url(settings.REDIS_URL)
    line = f"{settings.REDIS_KEY_PREFIX}:gw:waiting:{deployment.pk}"
    for queued, (tag, priority) in enumerate((("batch", "batch"), ("interactive", "interactive")), start=1):
        threads.append(threading.Thread(target=send, args=(tag, priority)))
        threads[-1].start()
        wait_for(lambda n=queued: waiting.zcard(line) == n, message=f"{tag} call to wait for a slot")
    release.set()
    for thread in threads:
        thread.join(60)

    order = [json.loads(r)["messages"][0]["content"] for r in server.requests]
    assert order == ["first", "interactive", "batch"]


@pytest.fixture(scope="module")
def impatient_gateway(django_db_setup: Any, django_db_blocker: Any) -> Iterator[GatewayProcess]:
    gateway = GatewayProcess(
        session_database_url(), **{**GATEWAY_TEST_SETTINGS, "MODEL_READ_TIMEOUT": "1.5", "GATEWAY_CALL_DEADLINE": "5"}
    )
    yield gateway
    gateway.stop()


def test_silent_and_trickling_servers_hit_the_read_timeout_and_the_deadline(impatient_gateway, application, scripted):
    silent = _deployment("Silent", scripted(servers.silent).base_url)
    trickling = _deployment("Trickling", scripted(servers.trickle).base_url)
    key = make_key(application, silent, trickling)

    started = time.monotonic()
    message = _assert_clean_error(_post(impatient_gateway, key, _chat("silent")), 504, "model_timeout")
    assert "sent nothing for 2 s" in message and "read timeout" in message
    assert time.monotonic() - started < 10

    started = time.monotonic()
    message = _assert_clean_error(_post(impatient_gateway, key, _chat("trickling")), 504, "deadline_exceeded")
    assert "within 5 s" in message and "overall deadline" in message
    assert time.monotonic() - started < 12
    client = openai.OpenAI(base_url=impatient_gateway.base_url, api_key=key, max_retries=0)
    with pytest.raises(openai.APIError, match="overall deadline"):
        list(client.chat.completions.create(**_chat("trickling"), stream=True))
    wait_for(lambda: ModelCall.objects.filter(status=ModelCall.Status.TIMEOUT).count() == 3, message="three rows")


def test_an_idle_connection_outlives_the_callers_own_keep_alive(gateway):
    """httpx (so the openai client and LangChain) reuses an idle connection for 5 s: the gateway must keep it longer,
    or a call sent just as the gateway drops the connection fails with a reset instead of being answered."""
    client_idle = httpx.Limits().keepalive_expiry
    assert client_idle is not None
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        for pause in (0, client_idle + 1):
            time.sleep(pause)
            conn.request("GET", "/healthz")  # on the same socket: a closed one fails here or in getresponse()
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b'{"status":"ok"}'
    finally:
        conn.close()
