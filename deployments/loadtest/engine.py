"""The load generator: streams chat completions at a profile's pace and times every request to the token.

It speaks the OpenAI HTTP API with httpx (``httpx-sse`` reads the server-sent events), one asyncio
task per request in flight, so a worker process holds hundreds of streams without a thread each. The caller owns
persistence: every finished request is handed to ``on_result`` from the engine's event loop, and ``stop`` (a
``threading.Event``) ends the run at any moment; requests still in flight then are dropped, not counted.

Profiles: ``synchronous`` (one request at a time), ``concurrent`` (a fixed number of streams, each starting its
next request when the last ends), ``constant`` (requests started at a fixed rate whatever the server does) and
``poisson`` (exponential gaps at a mean rate, seeded). A sweep is a series of these levels run by the caller.

A prompt that takes blocking work to build (the RAG workload's retrieval) comes as a ``Deferred``: the engine builds
it on a small thread pool so the other streams keep flowing, and counts the time it took in the request's time to
first token and end-to-end time, as the person asking experiences them.

Timing to the millisecond at high concurrency on a few cores takes two things the obvious code does not do: each
stream keeps its own keep-alive connection (one httpx client each: httpcore's shared pool scans every connection for
every request, which at 64 streams cost more CPU than the streams themselves), and the stream is read to its end
after ``[DONE]`` so that connection is reused instead of reopened. The loop is uvloop's, which wakes faster, and the
clock of each request starts when its body is written (see ``_SendClock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import random
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvloop
from httpx_sse import SSEError, aconnect_sse

PROFILES = ("synchronous", "concurrent", "constant", "poisson")
# Deferred prompts are built on this many threads, as a web process serves its pages on a fixed number; a request
# that waits for one counts the wait in its retrieval time, as a person waiting on a busy server would.
PREPARE_THREADS = 8


@dataclass(frozen=True)
class Prompt:
    messages: list[dict[str, str]]
    max_tokens: int
    fixed_output: bool = False  # ask for exactly max_tokens (ignore_eos and min_tokens, which vLLM honours)


@dataclass(frozen=True)
class Deferred:
    """A prompt whose building blocks (retrieval): ``build`` runs in a thread and returns the prompt, or None when
    no generation follows (a question the prototype declines), which still counts as a request."""

    build: Callable[[], Prompt | None]


@dataclass(frozen=True)
class Level:
    """One load level: a profile and its pace, for a duration and/or a number of requests after a warm-up."""

    profile: str
    concurrency: int = 1
    rate: float = 0.0  # requests/s for constant and poisson
    duration_s: float | None = 60.0
    max_requests: int | None = None
    warmup_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"unknown profile {self.profile!r}; use one of {', '.join(PROFILES)}")
        if self.profile in ("constant", "poisson") and self.rate <= 0:
            raise ValueError("a constant or Poisson profile needs a rate above 0 requests/s")
        if self.duration_s is None and self.max_requests is None:
            raise ValueError("give a duration or a number of requests")


@dataclass
class Result:
    """One request as the client saw it; times in ms, ``started_s`` from the level's start."""

    index: int
    started_s: float
    warmup: bool
    ok: bool = False
    error: str = ""
    ttft_ms: float | None = None
    headers_ms: float | None = None  # until the response's status line and headers: queueing and connection set-up
    e2e_ms: float = 0.0
    gaps_ms: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    output_tokens: int = 0
    retrieval_ms: float | None = None  # building a deferred prompt; included in ttft_ms and e2e_ms
    declined: bool = False  # the deferred prompt asked for no generation

    @property
    def itl_ms(self) -> float | None:
        """Mean gap between streamed tokens (the per-request inter-token latency)."""
        return sum(self.gaps_ms) / len(self.gaps_ms) if self.gaps_ms else None

    @property
    def tpot_ms(self) -> float | None:
        """Time per output token after the first: (end to end - first token) / (tokens - 1)."""
        if self.ttft_ms is None or self.output_tokens < 2:
            return None
        return (self.e2e_ms - self.ttft_ms) / (self.output_tokens - 1)


@dataclass(frozen=True)
class Target:
    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 300.0


class _SendClock:
    """When the request's body went onto the wire, from httpcore's trace hook: the clock starts there, not when the
    request was first built, so time the load generator's own busy loop took to get it out (a burst of 64 requests at
    once on a shared core) is not charged to the server. Until the body is sent it is the time the request was made.
    """

    def __init__(self) -> None:
        self.sent = time.perf_counter()

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        # The body's bytes are written right after this event, with no await in between (HTTP/1.1 and HTTP/2 alike).
        if name.endswith("send_request_body.started"):
            self.sent = time.perf_counter()


class ServerGone(Exception):
    """Too many requests in a row failed: the server stopped answering."""


async def _one(client: httpx.AsyncClient, target: Target, prompt: Prompt, result: Result) -> Result:
    body: dict[str, Any] = {
        "model": target.model,
        "messages": prompt.messages,
        "max_tokens": prompt.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
    }
    if prompt.fixed_output:
        body |= {"ignore_eos": True, "min_tokens": prompt.max_tokens}
    clock = _SendClock()
    ended: float | None = None  # the last event's arrival: closing the stream after it is not the server's time
    last: float | None = None
    usage_tokens: int | None = None
    chunks = 0
    try:
        async with aconnect_sse(
            client, "POST", "/chat/completions", json=body, extensions={"trace": clock.trace}
        ) as source:
            start = clock.sent
            result.headers_ms = (time.perf_counter() - start) * 1000
            if source.response.status_code >= 400:
                text = (await source.response.aread()).decode(errors="replace")
                raise _HttpError(f"HTTP {source.response.status_code}: {text[:200]}")
            async for event in source.aiter_sse():
                now = ended = time.perf_counter()
                if event.data == "[DONE]":
                    continue  # read on to the stream's end, so its connection serves the next request
                chunk = json.loads(event.data)
                if chunk.get("usage"):
                    usage_tokens = chunk["usage"].get("completion_tokens")
                    result.prompt_tokens = chunk["usage"].get("prompt_tokens")
                choices = chunk.get("choices") or []
                if not choices or not (choices[0].get("delta") or {}).get("content"):
                    continue
                chunks += 1
                if last is None:
                    result.ttft_ms = (now - start) * 1000
                else:
                    result.gaps_ms.append((now - last) * 1000)
                last = now
        result.ok = result.ttft_ms is not None
        if not result.ok:
            result.error = "the stream ended without a token"
    except _HttpError as exc:
        result.error = str(exc)
    except httpx.TimeoutException:
        result.error = f"no answer within {target.timeout_s:g} s"
    except httpx.HTTPError as exc:
        result.error = f"connection failed ({type(exc).__name__})"
    except (SSEError, ValueError, AttributeError) as exc:
        result.error = f"not an OpenAI event stream ({type(exc).__name__})"
    result.e2e_ms = ((ended if result.ok and ended else time.perf_counter()) - clock.sent) * 1000
    result.output_tokens = usage_tokens if usage_tokens is not None else chunks
    return result


class _HttpError(Exception):
    pass


class _Runner:
    def __init__(
        self,
        *,
        target: Target,
        level: Level,
        prompts: Iterator[Prompt | Deferred],
        on_result: Callable[[Result], None],
        stop: threading.Event,
        max_consecutive_errors: int,
        pool: Executor | None,
    ) -> None:
        self.target, self.level, self.prompts, self.on_result, self.stop = target, level, prompts, on_result, stop
        self.max_consecutive_errors = max_consecutive_errors
        self.pool, self.own_pool = pool, pool is None
        self.consecutive_errors = 0
        self.last_error = ""
        self.issued = 0
        self.warmup_issued = 0
        self.t0 = 0.0
        self.idle: list[httpx.AsyncClient] = []
        self.clients: list[httpx.AsyncClient] = []
        self.tls = httpx.create_ssl_context()

    def _more(self) -> bool:
        level, elapsed = self.level, time.perf_counter() - self.t0
        if self.stop.is_set() or self.consecutive_errors >= self.max_consecutive_errors:
            return False
        if level.duration_s is not None and elapsed >= level.warmup_s + level.duration_s:
            return False
        measured = self.issued - self.warmup_issued
        return level.max_requests is None or elapsed < level.warmup_s or measured < level.max_requests

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        """A client with one keep-alive connection, free for the length of one request."""
        if not self.idle:
            target = self.target
            client = httpx.AsyncClient(
                base_url=target.base_url.rstrip("/"),
                headers={"Authorization": f"Bearer {target.api_key}"} if target.api_key else {},
                timeout=httpx.Timeout(target.timeout_s, connect=10.0),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                verify=self.tls,  # loading the CA bundle takes ~40 ms of CPU: once per run, not per stream
            )
            self.clients.append(client)
            self.idle.append(client)
        client = self.idle.pop()
        try:
            yield client
        finally:
            self.idle.append(client)

    async def _build(self, deferred: Deferred, result: Result) -> Prompt | None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=PREPARE_THREADS, thread_name_prefix="loadtest-prepare")
        asked = time.perf_counter()
        try:
            prompt = await asyncio.get_running_loop().run_in_executor(self.pool, deferred.build)
        except Exception as exc:  # the workload's own failure (a search that could not run) fails this request
            result.error = f"building the prompt failed: {exc}"
            prompt = None
        else:
            result.declined = prompt is None
            result.ok = result.declined
        result.retrieval_ms = result.e2e_ms = (time.perf_counter() - asked) * 1000
        if result.declined:  # the decline is what the person sees first, as soon as retrieval is done
            result.ttft_ms = result.retrieval_ms
        return prompt

    async def _request(self) -> None:
        started = time.perf_counter() - self.t0
        warmup = started < self.level.warmup_s
        self.warmup_issued += warmup
        self.issued += 1
        result = Result(index=self.issued - 1, started_s=started, warmup=warmup)
        item = next(self.prompts)
        prompt = await self._build(item, result) if isinstance(item, Deferred) else item
        if prompt is not None:
            async with self._client() as client:
                await _one(client, self.target, prompt, result)
            if result.retrieval_ms is not None:  # timed from the question, as the person asking sees it
                result.e2e_ms += result.retrieval_ms
                if result.ttft_ms is not None:
                    result.ttft_ms += result.retrieval_ms
                if result.headers_ms is not None:
                    result.headers_ms += result.retrieval_ms
        if result.ok:
            self.consecutive_errors = 0
        else:
            self.consecutive_errors += 1
            self.last_error = result.error
        self.on_result(result)

    async def _watch_stop(self, tasks: set[asyncio.Task[None]]) -> None:
        while not self.stop.is_set() and any(not t.done() for t in tasks):
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()

    async def run(self) -> None:
        self.t0 = time.perf_counter()
        if self.level.profile in ("synchronous", "concurrent"):
            workers = 1 if self.level.profile == "synchronous" else self.level.concurrency
            tasks = {asyncio.create_task(self._worker()) for _ in range(workers)}
        else:
            tasks = {asyncio.create_task(self._arrivals())}
        watcher = asyncio.create_task(self._watch_stop(tasks))
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            watcher.cancel()
            for client in self.clients:
                await client.aclose()
            if self.own_pool and self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)

    async def _worker(self) -> None:
        while self._more():
            await self._request()

    async def _arrivals(self) -> None:
        rng = random.Random(self.level.seed)
        in_flight: set[asyncio.Task[None]] = set()
        next_at = 0.0
        try:
            while self._more():
                delay = next_at - (time.perf_counter() - self.t0)
                if delay > 0:
                    await asyncio.sleep(delay)
                    if not self._more():
                        break
                task = asyncio.create_task(self._request())
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                gap = 1 / self.level.rate
                next_at += rng.expovariate(self.level.rate) if self.level.profile == "poisson" else gap
            await asyncio.gather(*in_flight, return_exceptions=True)
        finally:
            for task in in_flight:
                task.cancel()


def run_level(
    *,
    target: Target,
    level: Level,
    prompts: Iterator[Prompt | Deferred],
    on_result: Callable[[Result], None],
    stop: threading.Event,
    max_consecutive_errors: int = 10,
    pool: Executor | None = None,
) -> None:
    """Run one load level to its end (or until ``stop`` is set); raises ``ServerGone`` when the server stops answering.

    ``on_result`` runs on the engine's event loop, so it must be quick (append to a list or a queue). Deferred
    prompts are built on ``pool`` (the caller's, to keep its threads from level to level) or on a pool of the level's.
    """
    runner = _Runner(
        target=target,
        level=level,
        prompts=prompts,
        on_result=on_result,
        stop=stop,
        max_consecutive_errors=max(max_consecutive_errors, 2 * level.concurrency),
        pool=pool,
    )
    # A full garbage collection of a worker's heap (Django, torch: hundreds of thousands of objects) stalls every
    # stream for a few hundred ms; collected and frozen first, the collections during the level scan only its own.
    gc.collect()
    gc.freeze()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop:
            loop.run(runner.run())
    finally:
        gc.unfreeze()
    if runner.consecutive_errors >= runner.max_consecutive_errors and not stop.is_set():
        raise ServerGone(
            f"{runner.consecutive_errors} requests in a row failed, {time.perf_counter() - runner.t0:.1f} s into "
            f"the level (last: {runner.last_error})"
        )
