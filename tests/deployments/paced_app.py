"""A small OpenAI-compatible streaming server with known delays, run by uvicorn in its own process.

``PACED_FIRST_TOKEN_S``, ``PACED_GAP_S`` and ``PACED_TOKENS`` set the pace; with ``PACED_DIE_AFTER`` set, the process
exits in the middle of the stream of that request, like a server that crashes under load; ``PACED_QUEUE_S`` adds that
many seconds to the first token for every other request in flight, like a server whose queue grows with the load.
``GET /v1/paced/kept`` returns the delays it actually kept (from taking each request in to each token's send), so a
test can tell the client's error from the server's own lateness on a busy machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

FIRST_TOKEN_S = float(os.environ.get("PACED_FIRST_TOKEN_S", "0.2"))
GAP_S = float(os.environ.get("PACED_GAP_S", "0.04"))
TOKENS = int(os.environ.get("PACED_TOKENS", "8"))
DIE_AFTER = int(os.environ.get("PACED_DIE_AFTER", "0"))
QUEUE_S = float(os.environ.get("PACED_QUEUE_S", "0"))
served = 0
in_flight = 0
kept: dict[str, list[float]] = {"first_token_ms": [], "gap_ms": []}


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


async def _send_json(send: Any, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global served, in_flight
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    received = time.perf_counter()
    if scope["path"] == "/v1/models":
        await _send_json(send, {"object": "list", "data": [{"id": "paced", "object": "model"}]})
        return
    if scope["path"] == "/v1/paced/kept":
        await _send_json(send, kept)
        return
    served += 1
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    # The delays count from the headers, which the client also timestamps: what the client adds is then measurable
    # even when a busy machine makes the server slow to take requests in.
    started = time.perf_counter()
    first_token_s = FIRST_TOKEN_S + QUEUE_S * in_flight
    in_flight += 1
    try:
        await _stream(send, started, first_token_s, received)
    finally:
        in_flight -= 1


async def _stream(send: Any, started: float, first_token_s: float, received: float) -> None:
    previous = received
    for i in range(TOKENS):
        # An absolute schedule: a late wake-up does not push every later token back.
        await asyncio.sleep(max(0.0, started + first_token_s + i * GAP_S - time.perf_counter()))
        if DIE_AFTER and served > DIE_AFTER and i == 2:
            os._exit(1)
        delta = {"choices": [{"index": 0, "delta": {"content": f" t{i}"}, "finish_reason": None}]}
        await send({"type": "http.response.body", "body": _event(delta), "more_body": True})
        now = time.perf_counter()
        kept["gap_ms" if i else "first_token_ms"].append((now - previous) * 1000)
        previous = now
    usage = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": TOKENS, "total_tokens": 7 + TOKENS}}
    await send({"type": "http.response.body", "body": _event(usage) + b"data: [DONE]\n\n"})
