"""Retrieval for prototypes: the knowledge base's search service, seen as numbered passages with a confidence."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag import abstention
from rag.embeddings import EmbeddingError
from rag.services.search import SearchError, SearchHit, search

if TYPE_CHECKING:
    from rag.models import PrototypeVersion


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    text: str
    document_uuid: str
    document_title: str
    external_id: str
    page: int | None
    score: float
    vector_score: float | None = None
    is_cut: bool = False

    @property
    def label(self) -> str:
        page = f", page {self.page}" if self.page else ""
        return f"{self.document_title or self.external_id}{page}"

    def cut(self, chars: int) -> Passage:
        return replace(self, text=self.text[:chars].rstrip() + " …", is_cut=True)

    def as_citation(self, n: int) -> dict[str, object]:
        return {
            "n": n,
            "chunk_id": self.chunk_id,
            "document_uuid": self.document_uuid,
            "document_title": self.document_title,
            "external_id": self.external_id,
            "page": self.page,
            "score": round(self.score, 4),
            "vector_score": None if self.vector_score is None else round(self.vector_score, 4),
            "cut": self.is_cut,
        }


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    embed_ms: float
    retrieval_ms: float
    similarities: tuple[float, ...] = ()  # the best vector candidates' cosine similarities, best first

    @property
    def confidence(self) -> float:
        """How answerable the question looks (``rag.abstention``); fused scores say nothing absolute about a match."""
        return abstention.answerability(self.similarities)


class RetrievalError(Exception):
    """Retrieval could not run as configured; the message says what to change."""


def _passage(hit: SearchHit) -> Passage:
    return Passage(
        chunk_id=hit.chunk_id,
        text=hit.text,
        document_uuid=hit.document_uuid,
        document_title=hit.title,
        external_id=hit.external_id,
        page=hit.page,
        score=hit.rerank_score if hit.rerank_score is not None else hit.fused_score,
        vector_score=hit.vector_score,
    )


def retrieve(*, version: PrototypeVersion, question: str) -> Retrieval:
    """The version's top-k passages from the knowledge base's search service, with the time each step took."""
    kb = version.prototype.knowledge_base
    try:
        response = search(
            knowledge_base=kb,
            query=question,
            mode=version.retrieval_mode,
            top_k=version.top_k,
            weights=(version.vector_weight, version.keyword_weight),
            rerank=version.rerank,
            embedding_model=version.embedding_model,
        )
        passages = [_passage(hit) for hit in response.hits]
        embed_ms = response.timings.get("embedding_ms", 0.0)
        total_ms = response.timings.get("total_ms", 0.0)
        similarities = response.vector_scores
        if version.retrieval_mode == "keyword":
            # Keyword ranks say nothing about how well the question matches; a vector probe does.
            probe = search(
                knowledge_base=kb, query=question, mode="vector", top_k=1, embedding_model=version.embedding_model
            )
            embed_ms += probe.timings.get("embedding_ms", 0.0)
            total_ms += probe.timings.get("total_ms", 0.0)
            similarities = probe.vector_scores
    except (SearchError, EmbeddingError) as exc:
        raise RetrievalError(str(exc)) from exc
    return Retrieval(
        passages=passages, embed_ms=embed_ms, retrieval_ms=total_ms - embed_ms, similarities=tuple(similarities)
    )
