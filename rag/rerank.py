"""The optional rerank stage: anything with ``score(query, texts) -> list[float]`` can re-order search candidates.

Two implementations: a local cross-encoder loaded with sentence-transformers from a folder on disk
(``RAG_RERANK_MODEL_PATH``), and any Cohere-style ``/rerank`` endpoint (vLLM, TEI, Jina, Cohere:
``RAG_RERANK_URL``, model in ``RAG_RERANK_MODEL``). No reranking model ships its weights in a PyPI package we
could find, so neither is configured by default and the stage is off until one is.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

import httpx
from django.conf import settings


class RerankError(Exception):
    pass


class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: list[str]) -> list[float]: ...


class CrossEncoderReranker:
    def __init__(self, path: str) -> None:
        self.name = f"cross-encoder:{path.rstrip('/').rsplit('/', 1)[-1]}"
        self.path = path

    def score(self, query: str, texts: list[str]) -> list[float]:
        model = _cross_encoder(self.path)
        return [float(s) for s in model.predict([(query, t) for t in texts], batch_size=32)]


@lru_cache(maxsize=2)
def _cross_encoder(path: str) -> Any:
    from sentence_transformers import CrossEncoder

    return CrossEncoder(path, device="cpu")


class HttpReranker:
    """A Cohere-style rerank API: POST {model, query, documents} → {results: [{index, relevance_score}]}."""

    def __init__(self, url: str, model: str = "", api_key: str = "", timeout: float = 10.0) -> None:
        self.name = f"endpoint:{model or url}"
        self.url, self.model, self.api_key, self.timeout = url, model, api_key, timeout

    def score(self, query: str, texts: list[str]) -> list[float]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            response = httpx.post(
                self.url,
                json={"model": self.model, "query": query, "documents": texts},
                headers=headers,
                timeout=self.timeout,
            )
            response.raise_for_status()
            results = response.json()["results"]
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise RerankError(f"The rerank endpoint {self.url} failed: {exc}") from exc
        scores = [0.0] * len(texts)
        for item in results:
            scores[int(item["index"])] = float(item["relevance_score"])
        return scores


def configured_reranker() -> Reranker | None:
    if getattr(settings, "RAG_RERANK_MODEL_PATH", ""):
        return CrossEncoderReranker(settings.RAG_RERANK_MODEL_PATH)
    if getattr(settings, "RAG_RERANK_URL", ""):
        return HttpReranker(settings.RAG_RERANK_URL, model=getattr(settings, "RAG_RERANK_MODEL", ""))
    return None
