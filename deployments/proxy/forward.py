"""Sending one call to a deployment and relaying its answer, with fallbacks, and logging what happened.

The model servers are called with aiohttp: its HTTP parser is compiled, and on this path it costs a fifth of the
CPU time per call of httpx's pure-Python one (measured against the instant stand-in of ``bench/gateway.py``).

A streamed answer is relayed event by event as it arrives, byte for byte, except one thing: the gateway always asks
the server for token usage (``stream_options.include_usage``) so every call's tokens are logged, and drops that
usage-only event again when the caller did not ask for it. Time to first token and the gaps between tokens are
measured here, from when the gateway received the request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from django.conf import settings
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from deployments.models import ModelCall, Priority
from deployments.proxy.calllog import CallLog, CallRecord
from deployments.proxy.errors import GatewayError
from deployments.proxy.guards import BreakerOpen, Breakers, Entered, Slots
from deployments.proxy.routes import KeyInfo, Route

logger = logging.getLogger("deployments.proxy")

# Raised before any byte of the answer came back, so trying again cannot duplicate anything: the server refused or
# did not accept the connection, or closed it (a kept-alive one it had dropped) before answering.
RETRYABLE = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.ServerDisconnectedError)
# A read timeout (nothing for MODEL_READ_TIMEOUT) is an aiohttp.ServerTimeoutError, itself a TimeoutError: every
# handler below catches it before TimeoutError, which on its own means the call's overall deadline.
READ_TIMEOUT = aiohttp.ServerTimeoutError
CONTEXT_WORDS = ("context length", "context window", "maximum model length", "max_model_len")
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass
class Call:
    """One request from a client application, as the gateway received it."""

    info: KeyInfo
    path: str
    body: dict[str, Any]
    priority: str
    admission: asyncio.Future[None] | None = None  # the rate-limit check, run while a slot is sought
    started: float = field(default_factory=time.perf_counter)
    deadline: float = 0.0  # on the event loop's clock

    def __post_init__(self) -> None:
        self.deadline = asyncio.get_running_loop().time() + settings.GATEWAY_CALL_DEADLINE
        self.stream = bool(self.body.get("stream"))
        options = self.body.get("stream_options")
        self.wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))

    @property
    def caller(self) -> str:
        return "gateway." + self.path.replace("chat/completions", "chat")

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


class Relay(StreamingResponse):
    """A streamed answer that stops as soon as the caller hangs up.

    Starlette watches for the hang-up in an anyio task group per response; on the gateway's hot path a plain
    watcher task that cancels the relay costs a fraction of that, for the same behaviour.
    """

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        super().__init__(chunks, media_type="text/event-stream", headers=STREAM_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        relay = loop.create_task(self.stream_response(send))
        watcher = loop.create_task(self.listen_for_disconnect(receive))
        watcher.add_done_callback(lambda _: relay.cancel())
        try:
            await relay
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not watcher.done() or watcher.cancelled() or (task is not None and task.cancelling()):
                raise
            # the caller hung up: the relay logged it and cleaned up; nothing is left to send
        finally:
            watcher.cancel()


class UpstreamFailure(Exception):
    def __init__(self, error: GatewayError, *, breaker: bool, fallback: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.breaker = breaker  # counts against the deployment's circuit breaker
        self.fallback = fallback  # another deployment may still answer


class Malformed(Exception):
    pass


def _timeout_error(read: bool) -> GatewayError:
    if read:
        return GatewayError(
            504,
            "model_timeout",
            f"The model sent nothing for {settings.MODEL_READ_TIMEOUT:.0f} s (the gateway's read timeout between "
            "bytes); it may be overloaded. Retry later, or with a shorter prompt or a smaller max_tokens.",
            kind="server_error",
            log_status=ModelCall.Status.TIMEOUT,
        )
    return GatewayError(
        504,
        "deadline_exceeded",
        f"The call did not finish within {settings.GATEWAY_CALL_DEADLINE:.0f} s, the gateway's overall deadline "
        "per call, although the model was still sending. Ask for fewer tokens (max_tokens) or split the work.",
        kind="server_error",
        log_status=ModelCall.Status.TIMEOUT,
    )


def _upstream_message(content: bytes) -> str:
    try:
        data = json.loads(content)
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("message")
    except (ValueError, AttributeError):
        message = None
    text = str(message or content.decode(errors="replace")).strip()
    return text if len(text) <= 400 else text[:399] + "…"


class Forwarder:
    def __init__(self, *, session: aiohttp.ClientSession, breakers: Breakers, slots: Slots, log: CallLog) -> None:
        self.session = session
        self.breakers = breakers
        self.slots = slots
        self.log = log
        self.cleanups: set[asyncio.Task[None]] = set()

    async def forward(self, call: Call, candidates: list[Route]) -> Response:
        primary = candidates[0]
        error: GatewayError | None = None
        primary_logged = False
        for route in candidates:
            record = CallRecord(
                deployment_id=route.id,
                application_id=call.info.application_id,
                engagement_id=call.info.engagement_id,
                key_id=call.info.key_id,
                caller=call.caller,
                fallback_from_id=primary.id if route.id != primary.id else None,
                path=call.path,
                body=call.body,
            )
            try:
                breaker = await self.breakers.enter(route.id)
            except BreakerOpen as exc:
                error = GatewayError(
                    503,
                    "model_unavailable",
                    "The model failed repeatedly just now and is paused while it recovers. Retry after the number "
                    "of seconds in the Retry-After header; if it goes on, tell your FDE.",
                    kind="server_error",
                    retry_after=exc.retry_after,
                    log_status=ModelCall.Status.UNREACHABLE,
                )
                continue
            try:
                response = await self._attempt(call, route, breaker, record)
            except UpstreamFailure as exc:
                error = exc.error
                self._finish(record, call, error)
                primary_logged = primary_logged or route.id == primary.id
                if exc.fallback and asyncio.get_running_loop().time() < call.deadline:
                    continue
                return error.response()
            return response
        assert error is not None
        if not primary_logged:  # every candidate was paused by its breaker: the caller still gets a log row
            record = CallRecord(
                deployment_id=primary.id,
                application_id=call.info.application_id,
                engagement_id=call.info.engagement_id,
                key_id=call.info.key_id,
                caller=call.caller,
                path=call.path,
                body=call.body,
            )
            self._finish(record, call, error)
        return error.response()

    def _finish(self, record: CallRecord, call: Call, error: GatewayError | None) -> None:
        record.stats.total_ms = call.elapsed_ms()
        if error is not None:
            record.status, record.error = error.log_status, f"{error.code}: {error.message}"
        self.log.add(record)

    def _later(self, coroutine: Any) -> None:
        """Run cleanup in its own task: a cancelled request (the caller hung up) cannot await in its own."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.cleanups.add(task)
        task.add_done_callback(self.cleanups.discard)

    def _content(self, call: Call, route: Route) -> bytes:
        body = dict(call.body)
        body["model"] = route.served_model_name
        if call.stream and not call.wants_usage:
            body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        if route.priority_scheduling:
            body.setdefault("priority", 0 if call.priority == Priority.INTERACTIVE else 10)  # vLLM: lower goes first
        return json.dumps(body).encode()

    async def _open(self, call: Call, route: Route) -> aiohttp.ClientResponse:
        headers = {"Content-Type": "application/json"}
        if route.api_key:
            headers["Authorization"] = f"Bearer {route.api_key}"
        url, content = f"{route.base_url}/{call.path}", self._content(call, route)
        try:
            async with asyncio.timeout_at(call.deadline):
                return await self.session.post(url, data=content, headers=headers)
        except RETRYABLE as exc:
            failed: BaseException | None = exc
        # Set up only once the first try failed (most calls never need it); that failure is replayed as tenacity's
        # first attempt, so its backoff and its count of tries stay the whole story.
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RETRYABLE),
            stop=stop_after_attempt(1 + settings.GATEWAY_CONNECT_RETRIES),
            wait=wait_exponential_jitter(initial=0.1, max=1.0),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if failed is not None:
                    replay, failed = failed, None
                    raise replay
                async with asyncio.timeout_at(call.deadline):
                    response = await self.session.post(url, data=content, headers=headers)
        return response

    async def _attempt(self, call: Call, route: Route, breaker: Entered, record: CallRecord) -> Response:
        """The answer of one deployment, or ``UpstreamFailure``; a streamed answer owns its cleanup from here on."""
        holder: str | None = None
        response: aiohttp.ClientResponse | None = None
        try:
            holder = await self.slots.acquire(deployment_id=route.id, cap=route.concurrency, priority=call.priority)
            if call.admission is not None:
                await call.admission
            try:
                response = await self._open(call, route)
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                how = (
                    "refused the connection"
                    if isinstance(exc, aiohttp.ClientConnectorError)
                    else "did not accept a connection"
                )
                raise UpstreamFailure(
                    GatewayError(
                        503,
                        "model_unreachable",
                        f"The model server {how} ("
                        f"{1 + settings.GATEWAY_CONNECT_RETRIES} tries). Retry in a few seconds; if it goes "
                        "on, tell your FDE.",
                        kind="server_error",
                        log_status=ModelCall.Status.UNREACHABLE,
                    ),
                    breaker=True,
                    fallback=True,
                ) from exc
            except READ_TIMEOUT as exc:
                raise UpstreamFailure(_timeout_error(read=True), breaker=True, fallback=True) from exc
            except TimeoutError as exc:
                raise UpstreamFailure(_timeout_error(read=False), breaker=False, fallback=False) from exc
            except aiohttp.ClientError as exc:
                raise UpstreamFailure(
                    GatewayError(
                        502,
                        "model_disconnected",
                        "The model server closed the connection without answering. Retry; if it goes on, tell your "
                        "FDE.",
                        kind="server_error",
                        log_status=ModelCall.Status.UNREACHABLE,
                    ),
                    breaker=True,
                    fallback=True,
                ) from exc
            if response.status >= 400:
                content = await self._read(call, response)
                raise self._refusal(route, response, content)
            if call.stream and response.headers.get("Content-Type", "").startswith("text/event-stream"):
                relay = self._relay(call, route, response, breaker, holder, record)
                return Relay(relay)
            content = await self._read(call, response)
            try:
                data = json.loads(content)
                usage = data.get("usage") or {}
            except (ValueError, AttributeError) as exc:
                raise UpstreamFailure(_malformed(), breaker=True, fallback=True) from exc
            record.stats.prompt_tokens = usage.get("prompt_tokens")
            record.stats.completion_tokens = usage.get("completion_tokens")
            await self._close(route, breaker, holder, None)
            self._finish(record, call, None)
            return Response(content, status_code=response.status, media_type="application/json")
        except UpstreamFailure as exc:
            await self._close(route, breaker, holder, exc if exc.breaker else None, response)
            raise
        except BaseException as exc:  # the caller went away, the slot queue gave up, or over the rate limit
            self._later(self._close(route, breaker, holder, None, response))
            if isinstance(exc, GatewayError) and exc.log_status:
                self._finish(record, call, exc)
            raise

    async def _read(self, call: Call, response: aiohttp.ClientResponse) -> bytes:
        try:
            async with asyncio.timeout_at(call.deadline):
                return await response.read()
        except READ_TIMEOUT as exc:
            raise UpstreamFailure(_timeout_error(read=True), breaker=True, fallback=True) from exc
        except TimeoutError as exc:
            raise UpstreamFailure(_timeout_error(read=False), breaker=False, fallback=False) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamFailure(_dropped(0), breaker=True, fallback=True) from exc

    def _refusal(self, route: Route, response: aiohttp.ClientResponse, content: bytes) -> UpstreamFailure:
        status, message = response.status, _upstream_message(content)
        if status in (401, 403):
            error = GatewayError(
                502,
                "upstream_auth",
                "The model server refused the gateway's own credentials for this model. This is a setting on the "
                "provider's side, not your key: tell your FDE.",
                kind="server_error",
            )
            return UpstreamFailure(error, breaker=True, fallback=True)
        if status == 404:
            error = GatewayError(
                502,
                "upstream_model_missing",
                "The model server does not serve the model this name points to. This is a setting on the "
                "provider's side: tell your FDE.",
                kind="server_error",
            )
            return UpstreamFailure(error, breaker=True, fallback=True)
        if status == 429:
            retry = response.headers.get("Retry-After")
            error = GatewayError(
                429,
                "model_busy",
                f"The model server is busy and refused the call ({message}). Retry after a few seconds.",
                kind="rate_limit_error",
                retry_after=float(retry) if retry and retry.isdigit() else 5,
                log_status=ModelCall.Status.REJECTED,
            )
            return UpstreamFailure(error, breaker=False, fallback=True)
        if 400 <= status < 500:
            if any(word in message.lower() for word in CONTEXT_WORDS):
                error = GatewayError(
                    400,
                    "context_length_exceeded",
                    f"{message} This model takes {route.context_window} tokens in all, prompt and answer together: "
                    "shorten the prompt or lower max_tokens.",
                    param="messages",
                    log_status=ModelCall.Status.REJECTED,
                )
            else:
                error = GatewayError(
                    400 if status in (400, 422) else status,
                    "invalid_request",
                    f"The model refused the request: {message}",
                    log_status=ModelCall.Status.REJECTED,
                )
            return UpstreamFailure(error, breaker=False, fallback=False)
        error = GatewayError(
            502,
            "upstream_error",
            f"The model server failed on this call (HTTP {status}). Retry; if it goes on, tell your FDE.",
            kind="server_error",
        )
        return UpstreamFailure(error, breaker=True, fallback=True)

    async def _close(
        self,
        route: Route,
        breaker: Entered,
        holder: str | None,
        failure: BaseException | None,
        response: aiohttp.ClientResponse | None = None,
    ) -> None:
        try:
            if response is not None:
                # Back to the pool when it was read to the end; an answer left unfinished closes its connection,
                # which is how a model server learns to stop generating.
                response.release()
            await self.slots.release(deployment_id=route.id, holder=holder)
        finally:
            await self.breakers.leave(breaker, failure)

    async def _relay(
        self,
        call: Call,
        route: Route,
        response: aiohttp.ClientResponse,
        breaker: Entered,
        holder: str | None,
        record: CallRecord,
    ) -> AsyncIterator[bytes]:
        stats = record.stats
        error: GatewayError | None = None
        counts = False  # whether the failure is the deployment's fault, for its breaker
        done = False
        last = 0.0
        buffer = b""
        chunks = response.content.iter_any()
        try:
            while True:
                try:
                    async with asyncio.timeout_at(call.deadline):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                buffer += chunk
                out: list[bytes] = []
                while (end := buffer.find(b"\n\n")) >= 0:
                    event, buffer = buffer[: end + 2], buffer[end + 2 :]
                    if not event.startswith(b"data:"):
                        out.append(event)
                        continue
                    data = event[5:].strip()
                    if data == b"[DONE]":
                        done = True
                        out.append(event)
                        continue
                    try:
                        payload = json.loads(data)
                        choices = payload.get("choices")
                    except (ValueError, AttributeError) as exc:
                        raise Malformed from exc
                    if payload.get("error"):
                        message = _upstream_message(data)
                        error = GatewayError(502, "upstream_error", message, kind="server_error")
                    usage = payload.get("usage")
                    if usage:
                        stats.prompt_tokens = usage.get("prompt_tokens")
                        stats.completion_tokens = usage.get("completion_tokens")
                        if choices == [] and not call.wants_usage:
                            continue  # the usage event the gateway asked for on its own behalf
                    if choices and _has_text(choices[0]):
                        now = time.perf_counter()
                        if stats.ttft_ms is None:
                            stats.ttft_ms = (now - call.started) * 1000
                            last = now
                            # the first token goes out the moment it is read, not after the rest of its chunk
                            out.append(event)
                            yield b"".join(out)
                            out = []
                            continue
                        stats.gaps_ms.append((now - last) * 1000)
                        last = now
                    out.append(event)
                if out:
                    yield b"".join(out)
            if buffer.strip():
                raise Malformed
            if not done and error is None:
                error, counts = _dropped(len(stats.gaps_ms) + (stats.ttft_ms is not None)), True
                yield error.sse()
        except READ_TIMEOUT:
            error, counts = _timeout_error(read=True), True
            yield error.sse()
        except TimeoutError:
            error = _timeout_error(read=False)
            yield error.sse()
        except aiohttp.ClientError:
            error, counts = _dropped(len(stats.gaps_ms) + (stats.ttft_ms is not None)), True
            yield error.sse()
        except Malformed:
            error, counts = _malformed(), True
            yield error.sse()
        except BaseException:
            # A caller that has read [DONE] may hang up before the upstream's own end arrives: the answer was whole.
            if not done:
                error = GatewayError(499, "client_closed", "The caller disconnected before the answer ended.")
            raise
        finally:
            self._finish(record, call, error)
            self._later(
                self._close(route, breaker, holder, Exception(error.code) if counts and error else None, response)
            )


def _has_text(choice: Any) -> bool:
    if not isinstance(choice, dict):
        return False
    delta = choice.get("delta")
    if isinstance(delta, dict):
        return bool(delta.get("content") or delta.get("reasoning_content") or delta.get("tool_calls"))
    return bool(choice.get("text"))


def _dropped(tokens: int) -> GatewayError:
    return GatewayError(
        502,
        "model_disconnected",
        f"The model server stopped in the middle of the answer (after {tokens} tokens). Retry the call; if it goes "
        "on, tell your FDE.",
        kind="server_error",
    )


def _malformed() -> GatewayError:
    return GatewayError(
        502,
        "bad_upstream_response",
        "The model server sent a response the gateway could not read (not the OpenAI format). Retry; if it goes "
        "on, tell your FDE.",
        kind="server_error",
    )
