"""Gunicorn hooks for the web process (the options themselves are on the Procfile's command line)."""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    # Load the embedding model while the worker waits for its first request, not during it.
    from rag.embeddings import warm_up_in_background

    warm_up_in_background()
