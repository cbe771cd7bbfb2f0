"""Retrieval over a knowledge base: vector, keyword and hybrid search, with an optional rerank stage.

    response = search(
        knowledge_base=kb,
        query="How long do we have to report damage?",
        mode="hybrid",            # "vector" | "keyword" | "hybrid"
        top_k=8,
        weights=(0.75, 0.25),     # (vector, keyword) shares of the fused score
        fusion="convex",          # or "rrf" (reciprocal rank fusion)
        rerank=False,             # or True for the configured reranker, or pass reranker=...
        embedding_model=None,     # an EmbeddingModel indexing this base; default: the base's first
        filters=SearchFilters(document_ids=[...], source_ids=[...], date_from=..., date_to=...),
    )
    for hit in response.hits:
        hit.chunk_id, hit.document_uuid, hit.external_id, hit.title, hit.page, hit.heading_path
        hit.char_start, hit.char_end, hit.text
        hit.vector_score, hit.keyword_score, hit.fused_score, hit.rerank_score   # None where the step did not run
    response.timings  # {"embedding_ms", "vector_ms", "keyword_ms", "fusion_ms", "rerank_ms", "total_ms"}
    response.vector_scores  # the best vector candidates' similarities, for rag.abstention

Vector search orders by cosine distance on the model's own partial HNSW index (with pgvector's iterative scan, so
filters do not starve the result). Keyword search is BM25 over the base's term statistics in its text search
configuration (``rag.services.bm25``); quoted phrases and ``-word`` exclusions narrow its matches. Hybrid combines
the two by weighted min-max normalised scores (``fuse``); ties go to the stronger single signal. Disabled chunks
and documents that are not ready are never returned.
"""

from __future__ import annotations

import time
import uuid as uuid_lib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from rag.embeddings import embed_query
from rag.models import Chunk, EmbeddingModel, KnowledgeBase
from rag.rerank import Reranker, configured_reranker
from rag.services import bm25

MODES = ("hybrid", "vector", "keyword")


class SearchError(ValueError):
    """The request cannot be served as asked; the message says what to change."""


@dataclass
class SearchFilters:
    document_ids: list[uuid_lib.UUID | str] = field(default_factory=list)
    source_ids: list[uuid_lib.UUID | str] = field(default_factory=list)
    date_from: datetime | None = None
    date_to: datetime | None = None


@dataclass
class SearchHit:
    rank: int
    chunk_id: int
    chunk_index: int
    text: str
    document_uuid: str
    external_id: str
    title: str
    page: int | None
    heading_path: str
    char_start: int
    char_end: int
    source_name: str
    vector_score: float | None = None
    vector_rank: int | None = None
    keyword_score: float | None = None
    keyword_rank: int | None = None
    fused_score: float = 0.0
    rerank_score: float | None = None


@dataclass
class SearchResponse:
    query: str
    mode: str
    embedding_model: str
    hits: list[SearchHit]
    timings: dict[str, float]
    keyword_match: str = ""
    reranker: str = ""
    # Cosine similarity of the best vector candidates, best first (at least ``VECTOR_NEIGHBOURS`` when the base has
    # them): how far the best stands out from the rest is what ``rag.abstention`` reads.
    vector_scores: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _filter_sql(kb: KnowledgeBase, filters: SearchFilters | None) -> tuple[str, dict[str, Any]]:
    clauses = ["c.knowledge_base_id = %(kb)s", "NOT c.is_disabled", "d.status = 'ready'"]
    params: dict[str, Any] = {"kb": kb.pk}
    if filters and filters.document_ids:
        clauses.append("d.uuid = ANY(%(document_ids)s)")
        params["document_ids"] = [uuid_lib.UUID(str(u)) for u in filters.document_ids]
    if filters and filters.source_ids:
        clauses.append("d.source_id IN (SELECT id FROM rag_datasource WHERE uuid = ANY(%(source_ids)s))")
        params["source_ids"] = [uuid_lib.UUID(str(u)) for u in filters.source_ids]
    if filters and filters.date_from:
        clauses.append("COALESCE(d.document_date, d.created_at) >= %(date_from)s")
        params["date_from"] = filters.date_from
    if filters and filters.date_to:
        clauses.append("COALESCE(d.document_date, d.created_at) <= %(date_to)s")
        params["date_to"] = filters.date_to
    return " AND ".join(clauses), params


def _vector_literal(vector: Any) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _vector_sql(model: EmbeddingModel, where: str) -> str:
    dims = int(model.dimensions)
    return (
        f"SELECT e.chunk_id, e.embedding::vector({dims}) <=> %(vector)s::vector({dims}) AS distance "  # noqa: S608
        "FROM rag_chunkembedding e JOIN rag_chunk c ON c.id = e.chunk_id JOIN rag_document d ON d.id = c.document_id "
        f"WHERE e.model_id = %(model)s AND e.knowledge_base_id = %(kb)s AND {where} ORDER BY distance LIMIT %(limit)s"
    )


def _vector_search(
    model: EmbeddingModel,
    vector: Any,
    where: str,
    params: dict[str, Any],
    limit: int,
    *,
    terms_for: tuple[KnowledgeBase, str] | None = None,
) -> tuple[list[tuple[int, float]], bm25.QueryPlan | None]:
    """The ``limit`` nearest chunks passing ``where``, best first; with ``terms_for`` (base, query), also that
    query's BM25 plan, read in the same round trip.

    One round trip: the statements go as one string, which PostgreSQL runs as one transaction (or within the
    caller's), so the transaction-local HNSW settings hold for the vector query and end with it. Each round trip
    counts on a query this fast: as separate statements in their own transaction, they took five.
    """
    # Iterative scan keeps walking the graph until enough rows pass the filters (pgvector 0.8).
    statements = [
        "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
        "set_config('hnsw.ef_search', %(ef_search)s, true)",
        _vector_sql(model, where),
    ]
    values = {
        **params,
        "ef_search": str(max(100, limit)),
        "vector": _vector_literal(vector),
        "model": model.pk,
        "limit": limit,
    }
    if terms_for is not None:
        statements.append(bm25.TERMS_SQL)
        values.update(bm25.terms_params(*terms_for))
    query_plan = None
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(statements), values)
        cursor.nextset()
        rows = cursor.fetchall()
        if terms_for is not None:
            cursor.nextset()
            query_plan = bm25.plan_from_rows(terms_for[1], cursor.fetchall())
    return sorted(((int(cid), 1.0 - float(dist)) for cid, dist in rows), key=lambda r: -r[1]), query_plan


FUSIONS = ("convex", "rrf")
# Measured on the public FAQ sets (bench/README.md): a quarter of the weight on keywords helps; half hurts.
DEFAULT_WEIGHTS = (0.75, 0.25)
VECTOR_NEIGHBOURS = 10
RRF_K = 60


@dataclass
class Fused:
    fused: float = 0.0
    vector_score: float | None = None
    vector_rank: int | None = None
    keyword_score: float | None = None
    keyword_rank: int | None = None
    vector_part: float = 0.0
    keyword_part: float = 0.0

    @property
    def order_key(self) -> tuple[float, float, float, float]:
        # Ties go to the chunk with the stronger single signal, then the closer meaning, then the better keyword
        # score: never to whichever chunk happens to have the lower id.
        return (
            -self.fused,
            -max(self.vector_part, self.keyword_part),
            -(self.vector_score if self.vector_score is not None else -2.0),
            -(self.keyword_score or 0.0),
        )


def _normalised(ranked: list[tuple[int, float]]) -> dict[int, float]:
    """Scores scaled to 0-1 over this query's candidates (min-max): each ranker's scale means nothing to the other."""
    if not ranked:
        return {}
    values = [score for _, score in ranked]
    low, high = min(values), max(values)
    return {cid: (score - low) / (high - low) if high > low else 1.0 for cid, score in ranked}


def fuse(
    vector_hits: list[tuple[int, float]],
    keyword_hits: list[tuple[int, float]],
    *,
    weights: tuple[float, float] = (1.0, 1.0),
    method: str = "convex",
) -> dict[int, Fused]:
    """Combine the vector and keyword rankings (each best first) into one score per chunk.

    ``convex``: w_v · v + w_k · k over min-max normalised scores, with the weights scaled to sum to 1; a chunk
    missing from one list gets 0 there. ``rrf``: reciprocal rank fusion, Σ w / (60 + rank).
    """
    total = (weights[0] + weights[1]) or 1.0
    share = (weights[0] / total, weights[1] / total)
    result: dict[int, Fused] = {}
    for index, ranked in enumerate((vector_hits, keyword_hits)):
        normalised = _normalised(ranked)
        for rank, (chunk_id, score) in enumerate(ranked, 1):
            entry = result.setdefault(chunk_id, Fused())
            part = share[index] * (normalised[chunk_id] if method == "convex" else 1.0 / (RRF_K + rank))
            if index == 0:
                entry.vector_score, entry.vector_rank, entry.vector_part = score, rank, part
            else:
                entry.keyword_score, entry.keyword_rank, entry.keyword_part = score, rank, part
            entry.fused += part
    return result


def _model_for(kb: KnowledgeBase, embedding_model: EmbeddingModel | str | None) -> EmbeddingModel:
    models = list(kb.embedding_models.all())
    if not models:
        raise SearchError("This knowledge base has no embedding model; add one before searching by meaning.")
    if embedding_model is None:
        return models[0]
    key = embedding_model if isinstance(embedding_model, str) else embedding_model.key
    for model in models:
        if model.key == key:
            return model
    raise SearchError(f"The embedding model {key!r} does not index this knowledge base.")


def search(
    *,
    knowledge_base: KnowledgeBase,
    query: str,
    mode: str = "hybrid",
    top_k: int = 8,
    weights: tuple[float, float] = DEFAULT_WEIGHTS,
    rerank: bool = False,
    reranker: Reranker | None = None,
    embedding_model: EmbeddingModel | str | None = None,
    filters: SearchFilters | None = None,
    fusion: str = "convex",
) -> SearchResponse:
    started = time.perf_counter()
    query = (query or "").strip()
    if not query:
        raise SearchError("Enter a question or some keywords to search for.")
    if mode not in MODES:
        raise SearchError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
    if fusion not in FUSIONS:
        raise SearchError(f"Unknown fusion {fusion!r}; use one of {', '.join(FUSIONS)}.")
    if not 1 <= top_k <= 100:
        raise SearchError("top_k must be between 1 and 100.")
    if rerank and reranker is None:
        reranker = configured_reranker()
        if reranker is None:
            raise SearchError("No reranker is configured (set RAG_RERANK_MODEL_PATH or RAG_RERANK_URL).")
    model = _model_for(knowledge_base, embedding_model)
    where, params = _filter_sql(knowledge_base, filters)
    pool = max(top_k * 4, 40) if (mode == "hybrid" or reranker) else top_k
    vector_pool = max(pool, VECTOR_NEIGHBOURS)
    timings = {"embedding_ms": 0.0, "vector_ms": 0.0, "keyword_ms": 0.0, "fusion_ms": 0.0, "rerank_ms": 0.0}

    neighbours: list[tuple[int, float]] = []
    vector_hits: list[tuple[int, float]] = []
    keyword_hits: list[tuple[int, float]] = []
    query_plan: bm25.QueryPlan | None = None
    if mode in ("hybrid", "vector"):
        t = time.perf_counter()
        vector = embed_query(model, query)
        timings["embedding_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        # Hybrid search reads the BM25 plan along with the vector hits, saving a round trip.
        neighbours, query_plan = _vector_search(
            model, vector, where, params, vector_pool, terms_for=(knowledge_base, query) if mode == "hybrid" else None
        )
        vector_hits = neighbours[:pool]
        timings["vector_ms"] = (time.perf_counter() - t) * 1000
    if mode in ("hybrid", "keyword"):
        t = time.perf_counter()
        keyword_hits = bm25.search(knowledge_base, query, where, params, pool, query_plan)
        timings["keyword_ms"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    scores = fuse(vector_hits, keyword_hits, weights=weights, method=fusion)
    ordered = sorted(scores, key=lambda cid: scores[cid].order_key)[: pool if reranker else top_k]
    # Plain rows rather than three model instances per hit: the hits need a few columns, not the models.
    rows = {row[0]: row for row in Chunk.objects.filter(pk__in=ordered).values_list(*_HIT_FIELDS)}
    hits = [_hit(rows[cid], scores[cid]) for cid in ordered if cid in rows]
    timings["fusion_ms"] = (time.perf_counter() - t) * 1000

    if reranker is not None and hits:
        t = time.perf_counter()
        for hit, score in zip(hits, reranker.score(query, [h.text for h in hits]), strict=True):
            hit.rerank_score = score
        hits.sort(key=lambda h: -(h.rerank_score or 0.0))
        timings["rerank_ms"] = (time.perf_counter() - t) * 1000
    hits = hits[:top_k]
    for rank, hit in enumerate(hits, 1):
        hit.rank = rank
    timings = {k: round(v, 2) for k, v in timings.items()}
    timings["total_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return SearchResponse(
        query=query,
        mode=mode,
        embedding_model=model.key,
        hits=hits,
        timings=timings,
        keyword_match="bm25" if mode != "vector" else "",
        reranker=reranker.name if reranker else "",
        vector_scores=[round(score, 6) for _, score in neighbours],
    )


_HIT_FIELDS = (
    "pk", "index", "text", "page", "heading_path", "char_start", "char_end",
    "document__uuid", "document__external_id", "document__title", "document__source__name",
)  # fmt: skip


def _hit(row: tuple[Any, ...], score: Fused) -> SearchHit:
    chunk_id, index, text, page, heading_path, char_start, char_end, uuid, external_id, title, source_name = row
    return SearchHit(
        rank=0,
        chunk_id=chunk_id,
        chunk_index=index,
        text=text,
        document_uuid=str(uuid),
        external_id=external_id,
        title=title or external_id,
        page=page,
        heading_path=heading_path,
        char_start=char_start,
        char_end=char_end,
        source_name=source_name,
        vector_score=score.vector_score,
        vector_rank=score.vector_rank,
        keyword_score=score.keyword_score,
        keyword_rank=score.keyword_rank,
        fused_score=score.fused,
    )
