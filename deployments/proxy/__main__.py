"""``python -m deployments.proxy``: the gateway process, as the Procfile, the tests and the benchmark start it.

One place for how uvicorn runs the gateway, so what is tested and measured is what serves the client's programs.
Host, port and the number of processes come from ``GATEWAY_HOST``, ``GATEWAY_PORT`` and ``GATEWAY_WORKERS``.

Idle connections are kept for ``GATEWAY_KEEP_ALIVE_SECONDS`` (75 s), well past the 5 s after which httpx-based
clients (the official ``openai`` client, LangChain) drop theirs. With both at 5 s, a client can send its next call
on a connection the gateway is closing that same moment and get a connection reset instead of an answer.
"""

from __future__ import annotations

import os

import uvicorn


def main() -> None:
    uvicorn.run(
        "deployments.proxy.asgi:app",
        host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
        port=int(os.environ.get("GATEWAY_PORT", "8002")),
        loop="uvloop",
        http="httptools",
        access_log=False,
        timeout_keep_alive=int(os.environ.get("GATEWAY_KEEP_ALIVE_SECONDS", "75")),
        timeout_graceful_shutdown=10,
        workers=int(os.environ.get("GATEWAY_WORKERS", "1")),
    )


if __name__ == "__main__":
    main()
