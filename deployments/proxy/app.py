"""The gateway's ASGI application: authentication, request checks and routing; ``forward`` does the calling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from django.conf import settings
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as Path

from deployments.models import Priority
from deployments.proxy.calllog import CallLog
from deployments.proxy.errors import GatewayError
from deployments.proxy.forward import Call, Forwarder
from deployments.proxy.guards import Breakers, RateLimiter, Slots
from deployments.proxy.routes import KeyInfo, key_cached, key_lookup

logger = logging.getLogger("deployments.proxy")

REQUIRED = {"chat/completions": "messages", "completions": "prompt", "embeddings": "input"}


class Gateway:
    """Everything a gateway process keeps between calls: connections to Redis and to the model servers."""

    def __init__(self) -> None:
        self.redis = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        self.rate = RateLimiter()
        self.log = CallLog()
        # Per read and per connection attempt; the overall deadline per call is the forwarder's own.
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=settings.MODEL_CONNECT_TIMEOUT, sock_read=settings.MODEL_READ_TIMEOUT
        )
        # No cap on connections (a deployment's concurrency cap is the gateway's own); an idle connection is let go
        # before the servers' own keep-alive (5 s in uvicorn and vLLM) drops it; model servers are called directly,
        # never through the environment's proxy settings.
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=4), timeout=timeout, trust_env=False
        )
        self.forwarder = Forwarder(
            session=self.session,
            breakers=Breakers(self.redis),
            slots=Slots(self.redis),
            log=self.log,
        )

    async def close(self) -> None:
        await self.log.stop()
        await self.session.close()
        await self.redis.aclose()


def _gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def _authenticate(request: Request) -> KeyInfo:
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise GatewayError(
            401,
            "missing_api_key",
            "Send your application's gateway key as 'Authorization: Bearer <key>' (the OpenAI clients do this "
            "with api_key=...). Your FDE creates keys under Deployments → Client applications.",
            kind="authentication_error",
        )
    info = key_cached(raw.strip())
    if info is not None:
        return info  # a key in use: the common case costs nothing more
    address = request.client.host if request.client else ""
    rate = _gateway(request).rate
    await rate.refuse_if_guessing(address)
    info = await key_lookup(raw.strip())
    if info is None:
        await rate.key_not_valid(address)
        raise GatewayError(
            401,
            "invalid_api_key",
            "This API key is not valid or has been revoked. Check that the whole key was copied, or ask your FDE "
            "for a new key for your application.",
            kind="authentication_error",
        )
    return info


async def _json_body(request: Request, path: str) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > settings.GATEWAY_MAX_BODY_BYTES:
        raise GatewayError(
            413,
            "request_too_large",
            f"The request body is {len(raw) // 1024} KiB; the gateway takes at most "
            f"{settings.GATEWAY_MAX_BODY_BYTES // 1024} KiB. Send less text per call.",
        )
    try:
        body = json.loads(raw)
    except ValueError as exc:
        where = (
            f" ({exc.msg} at line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        raise GatewayError(
            400,
            "invalid_json",
            f"The request body is not valid JSON{where}. Send a JSON object with Content-Type: application/json, "
            f'e.g. {{"model": "...", "{REQUIRED[path]}": ...}}.',
        ) from exc
    if not isinstance(body, dict):
        raise GatewayError(400, "invalid_body", "The request body must be a JSON object, not a list or a value.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise GatewayError(
            400, "missing_model", "Say which model to call in the 'model' field (GET /v1/models lists them).",
            param="model",
        )  # fmt: skip
    if REQUIRED[path] not in body:
        raise GatewayError(400, "missing_field", f"The request needs a '{REQUIRED[path]}' field.", param=REQUIRED[path])
    return body


def _priority(request: Request, info: KeyInfo) -> str:
    """The application's priority; a call may lower its own to batch, never raise it."""
    asked = request.headers.get("x-priority", "").strip().lower()
    return Priority.BATCH if asked == Priority.BATCH else info.priority


async def proxy(request: Request) -> Response:
    path = request.url.path.removeprefix("/v1/")
    info = await _authenticate(request)
    body = await _json_body(request, path)
    model = body["model"]
    candidates = info.candidates(model)
    if not candidates:
        if any(model in (r.name, r.served_model_name) for r in info.routes):
            raise GatewayError(
                503, "model_unavailable", f"The model '{model}' is switched off at the moment; ask your FDE.",
                kind="server_error", param="model",
            )  # fmt: skip
        names = ", ".join(info.model_names()) or "none yet"
        raise GatewayError(
            404,
            "model_not_found",
            f"No model called '{model}' is available to this key. It may call: {names} (GET /v1/models).",
            param="model",
        )
    gateway = _gateway(request)
    # The rate-limit check runs beside the breaker and slot checks: one Redis round trip on the path, not two.
    admission = asyncio.ensure_future(gateway.rate.check(key_id=info.key_id, per_minute=info.requests_per_minute))
    admission.add_done_callback(lambda task: task.cancelled() or task.exception())  # retrieved even if unused
    call = Call(info=info, path=path, body=body, priority=_priority(request, info), admission=admission)
    return await gateway.forwarder.forward(call, candidates)


async def models(request: Request) -> Response:
    info = await _authenticate(request)
    created = int(time.time())
    data = [
        {"id": name, "object": "model", "created": created, "owned_by": "fde-toolkit"} for name in info.model_names()
    ]
    return JSONResponse({"object": "list", "data": data})


async def healthz(request: Request) -> Response:
    try:
        await _gateway(request).redis.ping()  # type: ignore[misc]  # redis-py types ping for sync and async alike
    except Exception:
        return JSONResponse({"status": "down"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    logger.info("gateway refused %s %s: %s %s", request.method, request.url.path, exc.status, exc.code)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return GatewayError(405, "method_not_allowed", f"{request.url.path} does not take {request.method}.").response()
    return GatewayError(
        exc.status_code,
        "not_found",
        f"There is no {request.url.path} here. The gateway serves /v1/chat/completions, /v1/completions, "
        "/v1/embeddings and /v1/models.",
    ).response()


async def _unexpected(request: Request, exc: Exception) -> Response:
    reference = uuid.uuid4().hex[:12]
    logger.exception("gateway failed on %s %s (reference %s)", request.method, request.url.path, reference)
    return GatewayError(
        500,
        "internal_error",
        f"The gateway failed on this call. Retry; if it goes on, tell your FDE and quote reference {reference}.",
        kind="server_error",
    ).response()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    gateway = Gateway()
    gateway.log.start()
    app.state.gateway = gateway
    try:
        yield
    finally:
        await gateway.close()


def build_app() -> Starlette:
    routes = [
        Path("/v1/chat/completions", proxy, methods=["POST"]),
        Path("/v1/completions", proxy, methods=["POST"]),
        Path("/v1/embeddings", proxy, methods=["POST"]),
        Path("/v1/models", models, methods=["GET"]),
        Path("/healthz", healthz, methods=["GET"]),
    ]
    handlers = {GatewayError: _gateway_error, HTTPException: _http_error, Exception: _unexpected}
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)  # type: ignore[arg-type]
