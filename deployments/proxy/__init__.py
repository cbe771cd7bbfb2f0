"""The OpenAI-compatible gateway for the client's own programs: its own async process (see ``asgi.py``).

A client application calls ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings`` and ``/v1/models`` with
one of its keys; the ``model`` field picks a deployment the key may use. Around each call: a rate limit per key, a
concurrency cap per deployment with interactive calls admitted before batch ones, a circuit breaker per deployment
whose state every gateway process shares in Redis, retries with backoff on connection errors before the first byte,
a fallback deployment, a read timeout between bytes and an overall deadline. Streams pass through unchanged and
every call becomes a ``ModelCall`` row, like the product's own calls through ``deployments.gateway``.
"""
