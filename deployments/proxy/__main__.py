"""``python -m deployments.proxy``: the gateway process, as the Procfile, the tests and the benchmark start it.

One place for how uvicorn runs the gateway, so what is tested and measured is what serves the client's programs.
Host, port, the number of processes and the keep-alive are the ``GATEWAY_*`` settings.

Idle connections are kept for ``GATEWAY_KEEP_ALIVE_SECONDS`` (75 s), well past the 5 s after which httpx-based
clients (the official ``openai`` client, LangChain) drop theirs. With both at 5 s, a client can send its next call
on a connection the gateway is closing that same moment and get a connection reset instead of an answer.
"""

from __future__ import annotations

import os

import uvicorn
from django.conf import settings


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    uvicorn.run(
        "deployments.proxy.asgi:app",
        host=settings.GATEWAY_HOST,
        port=settings.GATEWAY_PORT,
        loop="uvloop",
        http="httptools",
        access_log=False,
        timeout_keep_alive=settings.GATEWAY_KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=10,
        workers=settings.GATEWAY_WORKERS,
    )


if __name__ == "__main__":
    main()
