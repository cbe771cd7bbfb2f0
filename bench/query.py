"""Query latency of hybrid search at 10k and 100k chunks, against a raw-SQL floor and langchain-postgres
``similarity_search``, and HNSW recall@10 against exact search: ``python -m bench.query [--write]``.

The 10k base holds real MiniLM embeddings of short policy sentences. The 100k base holds the same kind of text
with synthetic vectors, real ones plus noise (encoding 100k chunks would take most of an hour on 2 cores); its
latency still includes embedding the query with MiniLM, and recall is measured with queries near stored vectors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import prototype_setup as setup
from bench import rag_corpus

DIMS = 384


def _fill(kb: Any, model: Any, texts: list[str], vectors: np.ndarray, per_document: int = 100) -> None:
    """Bulk-load chunks and vectors straight into the tables (the ingest bench measures the pipeline)."""
    from django.contrib.postgres.search import SearchVector
    from django.db import connection

    from rag.models import Chunk, ChunkEmbedding, DataSource, Document
    from rag.services.knowledge_base import ensure_hnsw_index, hnsw_index_name

    source = DataSource.objects.create(knowledge_base=kb, name="Bench rows", kind=DataSource.Kind.UPLOAD)
    with connection.cursor() as cursor:  # building the graph once after loading is far faster than row by row
        cursor.execute(f"DROP INDEX IF EXISTS {hnsw_index_name(model)}")
    for start in range(0, len(texts), per_document):
        doc = Document.objects.create(
            knowledge_base=kb, source=source, external_id=f"rows-{start}", status=Document.Status.READY
        )
        chunks = Chunk.objects.bulk_create(
            Chunk(document=doc, knowledge_base=kb, index=i, text=t, char_end=len(t))
            for i, t in enumerate(texts[start : start + per_document])
        )
        ChunkEmbedding.objects.bulk_create(
            ChunkEmbedding(chunk=c, model=model, knowledge_base=kb, embedding=vectors[start + i])
            for i, c in enumerate(chunks)
        )
    Chunk.objects.filter(knowledge_base=kb).update(search_vector=SearchVector("text", config="simple"))
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        ensure_hnsw_index(model)
        cursor.execute("ANALYZE rag_chunk")
        cursor.execute("ANALYZE rag_chunkembedding")


def _timed(paths: dict[str, Callable[[str], Any]], queries: list[str]) -> dict[str, list[float]]:
    """Milliseconds per query for each path, the paths taking turns on every query so load spikes hit them alike."""
    for fn in paths.values():
        fn(queries[0])
    times: dict[str, list[float]] = {name: [] for name in paths}
    for q in queries:
        for name, fn in paths.items():
            started = time.perf_counter()
            fn(q)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def _raw_hybrid(kb: Any, model: Any) -> Callable[[str], Any]:
    """The floor: one SQL statement doing vector and keyword search and RRF, after embedding the query."""
    from django.db import connection

    from rag.embeddings import embed_query

    sql = f"""
        WITH v AS (
            SELECT e.chunk_id, row_number() OVER (ORDER BY e.embedding::vector({DIMS}) <=> %(q)s::vector({DIMS})) r
            FROM rag_chunkembedding e WHERE e.model_id = %(m)s AND e.knowledge_base_id = %(kb)s
            ORDER BY e.embedding::vector({DIMS}) <=> %(q)s::vector({DIMS}) LIMIT 40),
        k AS (
            SELECT c.id AS chunk_id, row_number() OVER (ORDER BY ts_rank_cd(c.search_vector, q) DESC) r
            FROM rag_chunk c, websearch_to_tsquery('simple', %(text)s) q
            WHERE c.knowledge_base_id = %(kb)s AND c.search_vector @@ q LIMIT 40)
        SELECT chunk_id, sum(1.0 / (60 + r)) s FROM (SELECT * FROM v UNION ALL SELECT * FROM k) x
        GROUP BY chunk_id ORDER BY s DESC LIMIT 8"""  # noqa: S608

    def run(query: str) -> Any:
        vector = "[" + ",".join(f"{x:.7g}" for x in embed_query(model, query)) + "]"
        with connection.cursor() as cursor:
            cursor.execute("SET hnsw.ef_search = 100")
            cursor.execute(sql, {"q": vector, "m": model.pk, "kb": kb.pk, "text": query})
            return cursor.fetchall()

    return run


def _recall(kb: Any, model: Any, vectors: np.ndarray, samples: int, rng: np.random.Generator) -> float:
    from django.db import connection, transaction

    sql = (
        f"SELECT e.chunk_id FROM rag_chunkembedding e WHERE e.model_id = %s AND e.knowledge_base_id = %s "  # noqa: S608
        f"ORDER BY e.embedding::vector({DIMS}) <=> %s::vector({DIMS}) LIMIT 10"
    )
    hits = 0
    for row in rng.choice(len(vectors), size=samples, replace=False):
        query = vectors[row] + rng.normal(0, 0.01, DIMS).astype(np.float32)
        literal = "[" + ",".join(f"{x:.7g}" for x in query / np.linalg.norm(query)) + "]"
        results = []
        for exact in (False, True):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL hnsw.ef_search = 100")
                cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                if exact:
                    cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute(sql, [model.pk, kb.pk, literal])
                results.append({r[0] for r in cursor.fetchall()})
        hits += len(results[0] & results[1])
    return hits / (10 * samples)


def _langchain_store(texts: list[str], vectors: np.ndarray) -> Any:
    from langchain_postgres import PGVector

    store = PGVector(
        embeddings=rag_corpus.langchain_embeddings(),
        connection=rag_corpus.sqlalchemy_url(),
        collection_name="bench_query",
        pre_delete_collection=True,
        use_jsonb=True,
    )
    for start in range(0, len(texts), 2000):
        store.add_embeddings(texts[start : start + 2000], [v.tolist() for v in vectors[start : start + 2000]], ids=None)
    return store


def _hybrid(search: Callable[..., Any], kb: Any, query: str) -> Any:
    return search(knowledge_base=kb, query=query, mode="hybrid", top_k=8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from rag.embeddings import embed_query, local_model
    from rag.models import EmbeddingModel
    from rag.services.knowledge_base import embedding_model_default, embedding_model_register
    from rag.services.search import search

    rng = np.random.default_rng(5)
    text_rng = random.Random(3)
    queries = rag_corpus.questions(args.queries)
    rows: list[str] = []
    worst_recall, large_p95_verdict = 1.0, "not measured"
    recalls: list[str] = []

    small_texts = [rag_corpus.sentence(text_rng) for _ in range(args.small)]
    started = time.perf_counter()
    small_vectors = np.asarray(
        local_model().encode(small_texts, batch_size=128, normalize_embeddings=True, show_progress_bar=False)
    )
    encode_s = time.perf_counter() - started
    small = rag_corpus.fresh_knowledge_base("Query bench 10k")
    minilm = embedding_model_default()
    _fill(small, minilm, small_texts, small_vectors)

    random_model = EmbeddingModel.objects.filter(key="bench-random-384").first() or embedding_model_register(
        key="bench-random-384", label="Synthetic vectors (bench)", kind="local", model_name="minilm", dimensions=DIMS
    )
    large = rag_corpus.fresh_knowledge_base("Query bench 100k")
    large.embedding_models.set([random_model])
    large_texts = [rag_corpus.sentence(text_rng) for _ in range(args.large)]
    # Real vectors plus noise: random unit vectors have no neighbourhoods, so recall on them measures nothing.
    large_vectors = small_vectors[rng.integers(0, args.small, size=args.large)]
    large_vectors = large_vectors + rng.normal(0, 0.03, size=large_vectors.shape).astype(np.float32)
    large_vectors /= np.linalg.norm(large_vectors, axis=1, keepdims=True)
    _fill(large, random_model, large_texts, large_vectors, per_document=500)

    for label, kb, model, vectors in (
        (f"{args.small // 1000}k", small, minilm, small_vectors),
        (f"{args.large // 1000}k", large, random_model, large_vectors),
    ):
        paths: dict[str, Callable[[str], Any]] = {
            "`search()` hybrid, top 8": functools.partial(_hybrid, search, kb),
            "raw SQL hybrid floor": _raw_hybrid(kb, model),
            "query embedding alone (MiniLM)": functools.partial(embed_query, model),
        }
        store = _langchain_store(small_texts, small_vectors) if kb is small else None
        if store is not None:
            paths["langchain-postgres `similarity_search`, k=8 (vector only, no index)"] = functools.partial(
                store.similarity_search, k=8
            )
        for name, times in _timed(paths, queries).items():
            _, p50, p95 = setup.summary(times)
            rows.append(f"| {label} | {name} | {p50:.1f} | {p95:.1f} |")
            if kb is large and name.startswith("`search()`"):
                large_p95_verdict = "met" if p95 <= 50 else "not met"
        if store is not None:
            store.delete_collection()
        recall = _recall(kb, model, vectors, 50, rng)
        recalls.append(f"| {label} | {recall:.3f} |")
        worst_recall = min(worst_recall, recall)

    recall_verdict = "met" if worst_recall >= 0.98 else "not met"
    lines = [
        f"### Query latency and recall ({dt.date.today():%Y-%m-%d}, {args.queries} queries, 2 CPU cores, "
        "HNSW m=16, ef_construction=64, ef_search=100)",
        "",
        f"The {args.small // 1000}k base holds real MiniLM vectors of short policy sentences (encoding them took "
        f"{encode_s:.0f} s, {args.small / encode_s:.0f} chunks/s); the {args.large // 1000}k base holds synthetic "
        "vectors (each one of those real vectors plus Gaussian noise, σ = 0.03 per dimension, renormalised) with the "
        "same kind of text. Every latency includes embedding the query with MiniLM. The SQL floor matches keywords "
        "with all words only; `search()` also falls back to any uncommon word when no chunk has them all, and "
        "loads each hit's chunk, document and provenance. The paths take turns on every query, so a load spike "
        "on the shared machine hits them alike.",
        "",
        "| chunks | query path | p50 ms | p95 ms |",
        "| --- | --- | ---: | ---: |",
        *rows,
        "",
        "HNSW recall@10 against exact search (50 queries near stored vectors, iterative scan on):",
        "",
        "| chunks | recall@10 |",
        "| --- | ---: |",
        *recalls,
        "",
        f"Targets: hybrid p95 at most 50 ms at {args.large // 1000}k chunks: {large_p95_verdict}; recall@10 at least "
        f"0.98: {recall_verdict}. The figures are taken on a 2-core machine shared with other work, so a single "
        "MiniLM query encode alone varies from a few to a few hundred milliseconds; compare rows within a table.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("query", report)


if __name__ == "__main__":
    main()
