"""Retrieval over a knowledge base: vector, keyword and hybrid search, with an optional rerank stage.

    response = search(
        knowledge_base=kb,
        query="How long do we have to report damage?",
        mode="hybrid",            # "vector" | "keyword" | "hybrid"
        top_k=8,
        weights=(1.0, 1.0),       # (vector, keyword) weights in reciprocal rank fusion
        rerank=False,             # or True for the configured reranker, or pass reranker=...
        embedding_model=None,     # an EmbeddingModel indexing this base; default: the base's first
        filters=SearchFilters(document_ids=[...], source_ids=[...], date_from=..., date_to=...),
    )
    for hit in response.hits:
        hit.chunk_id, hit.document_uuid, hit.external_id, hit.title, hit.page, hit.heading_path
        hit.char_start, hit.char_end, hit.text
        hit.vector_score, hit.keyword_score, hit.fused_score, hit.rerank_score   # None where the step did not run
    response.timings  # {"embedding_ms", "vector_ms", "keyword_ms", "fusion_ms", "rerank_ms", "total_ms"}

Vector search orders by cosine distance on the model's own partial HNSW index (with pgvector's iterative scan, so
filters do not starve the result). Keyword search is Postgres full text with ``websearch_to_tsquery`` in the base's
text search configuration; when every word is required and nothing matches (typical of a question), it falls back
to matching any of its words found in fewer than ``COMMON_TERM_CHUNKS`` chunks or 5% of a base of more than 4,000
(a more common word ranks like a stop word in any language, and leaving it out bounds the cost on large bases).
Hybrid fuses both ranked lists with weighted reciprocal rank fusion, ``w / (rrf_k + rank)``. Disabled chunks and
documents that are not ready are never returned.
"""

from __future__ import annotations

import time
import uuid as uuid_lib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum

from rag.embeddings import embed_query
from rag.models import Chunk, EmbeddingModel, KnowledgeBase, TextSearchConfig
from rag.rerank import Reranker, configured_reranker

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _filter_sql(kb: KnowledgeBase, filters: SearchFilters | None) -> tuple[str, list[Any]]:
    clauses = ["c.knowledge_base_id = %s", "NOT c.is_disabled", "d.status = 'ready'"]
    params: list[Any] = [kb.pk]
    if filters and filters.document_ids:
        clauses.append("d.uuid = ANY(%s)")
        params.append([uuid_lib.UUID(str(u)) for u in filters.document_ids])
    if filters and filters.source_ids:
        clauses.append("d.source_id IN (SELECT id FROM rag_datasource WHERE uuid = ANY(%s))")
        params.append([uuid_lib.UUID(str(u)) for u in filters.source_ids])
    if filters and filters.date_from:
        clauses.append("COALESCE(d.document_date, d.created_at) >= %s")
        params.append(filters.date_from)
    if filters and filters.date_to:
        clauses.append("COALESCE(d.document_date, d.created_at) <= %s")
        params.append(filters.date_to)
    return " AND ".join(clauses), params


def _vector_literal(vector: Any) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def _vector_search(
    kb: KnowledgeBase, model: EmbeddingModel, vector: Any, where: str, params: list[Any], limit: int
) -> list[tuple[int, float]]:
    dims = int(model.dimensions)
    sql = (
        f"SELECT e.chunk_id, e.embedding::vector({dims}) <=> %s::vector({dims}) AS distance "  # noqa: S608
        "FROM rag_chunkembedding e JOIN rag_chunk c ON c.id = e.chunk_id JOIN rag_document d ON d.id = c.document_id "
        f"WHERE e.model_id = %s AND e.knowledge_base_id = %s AND {where} ORDER BY distance LIMIT %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Iterative scan keeps walking the graph until enough rows pass the filters (pgvector 0.8).
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(100, limit)])
        cursor.execute(sql, [_vector_literal(vector), model.pk, kb.pk, *params, limit])
        rows = cursor.fetchall()
    return sorted(((int(cid), 1.0 - float(dist)) for cid, dist in rows), key=lambda r: -r[1])


# A word in more chunks than this (or than COMMON_TERM_SHARE of a large base) is, for ranking, as good as a stop word in
# any language: the any-word fallback leaves it out, which keeps the fallback's cost bounded on large bases.
COMMON_TERM_CHUNKS = 2000
COMMON_TERM_SHARE = 0.05

_LOOSE_QUERY_SQL = """
    WITH terms AS (SELECT DISTINCT unnest(tsvector_to_array(to_tsvector(%(config)s::regconfig, %(query)s))) AS term)
    SELECT string_agg(quote_literal(term), ' | ') FROM terms t
    WHERE (SELECT count(*) FROM (
        SELECT 1 FROM rag_chunk c WHERE c.knowledge_base_id = %(kb)s
        AND c.search_vector @@ quote_literal(t.term)::tsquery LIMIT %(cap)s) s) < %(cap)s
"""


def _rank(tsquery: str, query_params: list[Any], where: str, params: list[Any], limit: int) -> list[tuple[int, float]]:
    sql = (
        f"WITH query AS (SELECT {tsquery} AS q) "  # noqa: S608
        "SELECT c.id, ts_rank_cd(c.search_vector, query.q) AS score "
        "FROM rag_chunk c JOIN rag_document d ON d.id = c.document_id CROSS JOIN query "
        f"WHERE c.search_vector @@ query.q AND {where} ORDER BY score DESC, c.id LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*query_params, *params, limit])
        return [(int(cid), float(score)) for cid, score in cursor.fetchall()]


def _keyword_search(
    kb: KnowledgeBase, query: str, where: str, params: list[Any], limit: int
) -> tuple[list[tuple[int, float]], str]:
    config = kb.text_search_config if kb.text_search_config in TextSearchConfig.values else "simple"
    results = _rank("websearch_to_tsquery(%s::regconfig, %s)", [config, query], where, params, limit)
    if results:
        return results, "all words"
    # Nothing has every word (typical of a question): match any of its uncommon words instead.
    size = kb.documents.filter(status="ready").aggregate(n=Sum("chunk_count"))["n"] or 0
    cap = min(COMMON_TERM_CHUNKS, max(200, int(size * COMMON_TERM_SHARE)))
    with connection.cursor() as cursor:
        cursor.execute(_LOOSE_QUERY_SQL, {"config": config, "query": query, "kb": kb.pk, "cap": cap})
        loose = cursor.fetchone()[0]
    if not loose:
        return [], ""
    results = _rank("%s::tsquery", [loose], where, params, limit)
    return results, "any word" if results else ""


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
    weights: tuple[float, float] = (1.0, 1.0),
    rerank: bool = False,
    reranker: Reranker | None = None,
    embedding_model: EmbeddingModel | str | None = None,
    filters: SearchFilters | None = None,
    rrf_k: int = 60,
) -> SearchResponse:
    started = time.perf_counter()
    query = (query or "").strip()
    if not query:
        raise SearchError("Enter a question or some keywords to search for.")
    if mode not in MODES:
        raise SearchError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
    if not 1 <= top_k <= 100:
        raise SearchError("top_k must be between 1 and 100.")
    if rerank and reranker is None:
        reranker = configured_reranker()
        if reranker is None:
            raise SearchError("No reranker is configured (set RAG_RERANK_MODEL_PATH or RAG_RERANK_URL).")
    model = _model_for(knowledge_base, embedding_model)
    where, params = _filter_sql(knowledge_base, filters)
    pool = max(top_k * 4, 40) if (mode == "hybrid" or reranker) else top_k
    timings = {"embedding_ms": 0.0, "vector_ms": 0.0, "keyword_ms": 0.0, "fusion_ms": 0.0, "rerank_ms": 0.0}

    vector_hits: list[tuple[int, float]] = []
    keyword_hits: list[tuple[int, float]] = []
    keyword_match = ""
    if mode in ("hybrid", "vector"):
        t = time.perf_counter()
        vector = embed_query(model, query)
        timings["embedding_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        vector_hits = _vector_search(knowledge_base, model, vector, where, params, pool)
        timings["vector_ms"] = (time.perf_counter() - t) * 1000
    if mode in ("hybrid", "keyword"):
        t = time.perf_counter()
        keyword_hits, keyword_match = _keyword_search(knowledge_base, query, where, params, pool)
        timings["keyword_ms"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    scores: dict[int, dict[str, Any]] = {}
    for weight, name, ranked in ((weights[0], "vector", vector_hits), (weights[1], "keyword", keyword_hits)):
        for rank, (chunk_id, score) in enumerate(ranked, 1):
            entry = scores.setdefault(chunk_id, {"fused": 0.0})
            entry[f"{name}_score"], entry[f"{name}_rank"] = score, rank
            entry["fused"] += weight / (rrf_k + rank)
    ordered = sorted(scores, key=lambda cid: (-scores[cid]["fused"], cid))
    ordered = ordered[: pool if reranker else top_k]
    chunks = Chunk.objects.select_related("document__source").in_bulk(ordered)
    hits = [_hit(chunks[cid], scores[cid]) for cid in ordered if cid in chunks]
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
        keyword_match=keyword_match,
        reranker=reranker.name if reranker else "",
    )


def _hit(chunk: Chunk, score: dict[str, Any]) -> SearchHit:
    doc = chunk.document
    return SearchHit(
        rank=0,
        chunk_id=chunk.pk,
        chunk_index=chunk.index,
        text=chunk.text,
        document_uuid=str(doc.uuid),
        external_id=doc.external_id,
        title=doc.title or doc.external_id,
        page=chunk.page,
        heading_path=chunk.heading_path,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        source_name=doc.source.name,
        vector_score=score.get("vector_score"),
        vector_rank=score.get("vector_rank"),
        keyword_score=score.get("keyword_score"),
        keyword_rank=score.get("keyword_rank"),
        fused_score=score["fused"],
    )
