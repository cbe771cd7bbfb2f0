"""Query latency of hybrid search at 10k and 100k chunks, against a hand-written floor and langchain-postgres
``similarity_search``, and HNSW recall@10 against exact search: ``python -m bench.query [--write]``.

The 10k base holds real MiniLM embeddings of short policy sentences. The 100k base holds the same kind of text
with synthetic vectors, real ones plus noise (encoding 100k chunks would take most of an hour on 2 cores); its
latency still includes embedding the query with MiniLM, and recall is measured with queries near stored vectors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.util
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
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


def _timed(
    paths: dict[str, Callable[[str], Any]], queries: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[Any]]]:
    """Milliseconds per query for each path, the paths taking turns on every query so load spikes hit them alike,
    and what each path returned.

    The order rotates from one query to the next, so no path always runs right after the same one (after the
    cross-encoder, say, whose worker threads keep spinning on the cores for a while after it returns).
    """
    for fn in paths.values():
        fn(queries[0])
    names = list(paths)
    times: dict[str, list[float]] = {name: [] for name in paths}
    results: dict[str, list[Any]] = {name: [] for name in paths}
    for i, q in enumerate(queries):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            results[name].append(paths[name](q))
            times[name].append((time.perf_counter() - started) * 1000)
    return times, results


FLOOR = Path(__file__).with_name("query_floor.sql")


def _floor(kb: Any, model: Any) -> Callable[[str], Any]:
    """The floor: hybrid search in one round trip after embedding the query, a PL/pgSQL function doing the very
    work ``search()`` does (bench/query_floor.sql) and returning the same top 8 with their text and provenance."""
    from django.db import connection

    from rag.embeddings import embed_query
    from rag.services import bm25
    from rag.services.search import DEFAULT_WEIGHTS, _vector_literal

    with connection.cursor() as cursor:
        cursor.execute(FLOOR.read_text())
    settings: list[Any] = [bm25.text_search_config(kb), *DEFAULT_WEIGHTS, bm25.FIRST_PASS_POSTINGS, bm25.K1, bm25.B]

    def run(query: str) -> list[int]:
        vector = _vector_literal(embed_query(model, query))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM pg_temp.hybrid_floor(%s, %s, %s, %s, %s, %s::regconfig, 40, 8, %s, %s, %s, %s, %s)",
                [kb.pk, model.pk, model.dimensions, vector, query, *settings],
            )
            return [row[0] for row in cursor.fetchall()]

    return run


SPARSE_DIMS = 1_000_000
_SPARSE_BUILD = f"""
    CREATE TABLE bench_bm25_sparse AS
    WITH corpus AS (SELECT tokens::float8 / chunks AS avgdl FROM rag_keywordcorpus WHERE knowledge_base_id = %(kb)s),
    postings AS (
        SELECT c.id, abs(hashtext(u.lexeme)) %% {SPARSE_DIMS} + 1 AS dim,
               sum(coalesce(array_length(u.positions, 1), 1)) AS tf, max(c.term_count) AS dl
        FROM rag_chunk c, unnest(c.search_vector) u WHERE c.knowledge_base_id = %(kb)s GROUP BY 1, 2)
    SELECT p.id, ('{{' || string_agg(p.dim || ':' || (p.tf / (p.tf + 1.2 * (0.25 + 0.75 * p.dl / corpus.avgdl))),
                                       ',' ORDER BY p.dim) || '}}/{SPARSE_DIMS}')::sparsevec({SPARSE_DIMS}) AS v
    FROM postings p CROSS JOIN corpus GROUP BY p.id, corpus.avgdl
"""  # noqa: S608
_SPARSE_QUERY = f"""
    WITH corpus AS (SELECT chunks::float8 AS n FROM rag_keywordcorpus WHERE knowledge_base_id = %(kb)s),
    q AS (
        SELECT ('{{' || string_agg(dim || ':' || w, ',' ORDER BY dim) || '}}/{SPARSE_DIMS}')::sparsevec AS v FROM (
            SELECT abs(hashtext(t.term)) %% {SPARSE_DIMS} + 1 AS dim,
                   sum(ln(1 + (corpus.n - t.df + 0.5) / (t.df + 0.5))) AS w
            FROM unnest(tsvector_to_array(to_tsvector('simple', %(text)s))) q(term)
            JOIN rag_keywordterm t ON t.knowledge_base_id = %(kb)s AND t.term = q.term CROSS JOIN corpus GROUP BY 1
        ) terms)
    SELECT s.id FROM bench_bm25_sparse s, q ORDER BY s.v <#> q.v LIMIT 40"""  # noqa: S608


def _sparse_paths(kb: Any, queries: list[str]) -> tuple[dict[str, Callable[[str], Any]], list[str]]:
    """BM25 as pgvector sparse vectors (hashed terms), for the record of why the product keeps term statistics."""
    from django.db import connection, transaction

    from rag.services import bm25
    from rag.services.search import _filter_sql

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bm25_sparse")
        started = time.perf_counter()
        cursor.execute(_SPARSE_BUILD, {"kb": kb.pk})
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("CREATE INDEX bench_bm25_sparse_hnsw ON bench_bm25_sparse USING hnsw (v sparsevec_ip_ops)")
        index_s = time.perf_counter() - started
        cursor.execute("ANALYZE bench_bm25_sparse")

    def sparse(exact: bool) -> Callable[[str], Any]:
        def run(query: str) -> list[int]:
            with transaction.atomic(), connection.cursor() as cursor:
                if exact:
                    cursor.execute("SET LOCAL enable_indexscan = off")
                else:
                    cursor.execute("SET LOCAL hnsw.ef_search = 100")
                cursor.execute(_SPARSE_QUERY, {"kb": kb.pk, "text": query})
                return [r[0] for r in cursor.fetchall()]

        return run

    where, params = _filter_sql(kb, None)
    exact, approximate = sparse(True), sparse(False)
    overlap = [len(set(exact(q)) & set(approximate(q))) / 40 for q in queries[:30]]
    agree = [set(exact(q)) == {cid for cid, _ in bm25.search(kb, q, where, params, 40)} for q in queries[:30]]
    notes = [
        f"building the sparse vectors took {build_s:.1f} s and their HNSW index {index_s:.1f} s (every change in "
        "the base's average chunk length means rebuilding both)",
        f"HNSW over the sparse vectors found {statistics.fmean(overlap):.0%} of the exact top 40",
        f"the exact sparse scan and the product's BM25 returned the same top 40 for {sum(agree)} of {len(agree)} "
        "queries (hash collisions and ties aside)",
    ]
    return {
        "BM25 keyword search (term statistics, GIN, MaxScore): the product's": functools.partial(
            bm25.search, kb, where=where, params=params, limit=40
        ),
        "BM25 as `sparsevec`, exact scan": exact,
        "BM25 as `sparsevec`, HNSW": approximate,
    }, notes


def _reranked(search: Callable[..., Any], kb: Any, reranker: Any, stage_ms: list[float], query: str) -> list[int]:
    response = search(knowledge_base=kb, query=query, mode="hybrid", top_k=8, reranker=reranker)
    stage_ms.append(response.timings["rerank_ms"])
    return [hit.chunk_id for hit in response.hits]


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


def _hybrid(search: Callable[..., Any], kb: Any, query: str) -> list[int]:
    return [hit.chunk_id for hit in search(knowledge_base=kb, query=query, mode="hybrid", top_k=8).hits]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."  # str.capitalize() would lower-case HNSW and BM25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from rag.embeddings import embed_query, local_model, local_model_path
    from rag.models import EmbeddingModel
    from rag.rerank import CrossEncoderReranker
    from rag.services.knowledge_base import embedding_model_default, embedding_model_register
    from rag.services.search import search

    rng = np.random.default_rng(5)
    text_rng = random.Random(3)
    queries = rag_corpus.questions(args.queries)
    rows: list[str] = []
    worst_recall, large_verdict = 1.0, "not measured"
    recalls: list[str] = []
    agreement: list[str] = []

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
        hybrid, floor = "`search()` hybrid, top 8", "hand-written floor (one round trip, same work)"
        paths: dict[str, Callable[[str], Any]] = {
            hybrid: functools.partial(_hybrid, search, kb),
            floor: _floor(kb, model),
            "query embedding alone (MiniLM)": functools.partial(embed_query, model),
        }
        rerank_ms: list[float] = []
        if kb is large:
            # No reranking model ships its weights in a PyPI package; a cross-encoder the size of
            # ms-marco-MiniLM-L-6-v2 (MiniLM-L6's own weights, loaded as one) shows what the stage costs.
            paths["`search()` hybrid + rerank of 40 candidates (MiniLM-L6-sized cross-encoder)"] = functools.partial(
                _reranked, search, kb, CrossEncoderReranker(local_model_path()), rerank_ms
            )
        # langchain-postgres is a bench-only comparison and not among the app's requirements.
        with_langchain = kb is small and importlib.util.find_spec("langchain_postgres") is not None
        store = _langchain_store(small_texts, small_vectors) if with_langchain else None
        if store is not None:
            paths["langchain-postgres `similarity_search`, k=8 (vector only, no index)"] = functools.partial(
                store.similarity_search, k=8
            )
        times, results = _timed(paths, queries)
        measured = {name: setup.summary(values) for name, values in times.items()}
        _, floor_p50, floor_p95 = measured[floor]
        for name, (_, p50, p95) in measured.items():
            ratio = f"{p50 / floor_p50:.2f}× / {p95 / floor_p95:.2f}×" if name.startswith("`search()`") else ""
            rows.append(f"| {label} | {name} | {p50:.1f} | {p95:.1f} | {ratio} |")
            if name.startswith("`search()` hybrid +"):
                _, stage_p50, stage_p95 = setup.summary(rerank_ms[-len(queries) :])
                rows.append(f"| {label} | rerank stage alone (its `timings`) | {stage_p50:.1f} | {stage_p95:.1f} | |")
        _, search_p50, search_p95 = measured[hybrid]
        paired = statistics.median(a / b for a, b in zip(times[hybrid], times[floor], strict=True))
        same = sum(a == b for a, b in zip(results[hybrid], results[floor], strict=True))
        agreement.append(
            f"at {label}, `search()` and the floor returned the same top 8 in the same order for {same} of "
            f"{len(queries)} queries, and `search()` took {paired:.2f}× the floor's time on the median query"
        )
        if kb is large:
            within = search_p50 <= 1.2 * floor_p50 and search_p95 <= 1.2 * floor_p95
            large_verdict = "met" if within else "not met"
        print("\n".join(rows), agreement[-1], sep="\n", flush=True)  # the figures so far, should a later step fail
        if store is not None:
            store.delete_collection()
        recall = _recall(kb, model, vectors, 50, rng)
        recalls.append(f"| {label} | {recall:.3f} |")
        worst_recall = min(worst_recall, recall)

    sparse_paths, sparse_notes = _sparse_paths(large, queries)
    sparse_rows = []
    for name, values in _timed(sparse_paths, queries)[0].items():
        _, p50, p95 = setup.summary(values)
        sparse_rows.append(f"| {args.large // 1000}k | {name} | {p50:.1f} | {p95:.1f} |")
    recall_verdict = "met" if worst_recall >= 0.98 else "not met"
    lines = [
        f"### Query latency and recall ({dt.date.today():%Y-%m-%d}, {args.queries} queries, 2 CPU cores, "
        "HNSW m=16, ef_construction=64, ef_search=100)",
        "",
        f"The {args.small // 1000}k base holds real MiniLM vectors of short policy sentences (encoding them took "
        f"{encode_s:.0f} s, {args.small / encode_s:.0f} chunks/s); the {args.large // 1000}k base holds synthetic "
        "vectors (each one of those real vectors plus Gaussian noise, σ = 0.03 per dimension, renormalised) with the "
        "same kind of text. Every latency includes embedding the query with MiniLM. The floor does in one round "
        "trip the very work `search()` does: a PL/pgSQL function (bench/query_floor.sql) running the same HNSW "
        "query, the same BM25 over the same term statistics with the same MaxScore passes, the same weighted "
        "fusion, tie order and top 8, and returning the hits' text and provenance; `search()` adds its round trips, "
        "Python fusion and result objects. The rerank rows are reported on their own and not held to the 1.2× "
        "target. The paths take turns on every query, so a load spike on the shared machine hits them alike; "
        "`make bench` re-runs it all for figures from a quiet machine.",
        "",
        _sentence("; ".join(agreement)),
        "",
        "| chunks | query path | p50 ms | p95 ms | against the floor (p50 / p95) |",
        "| --- | --- | ---: | ---: | ---: |",
        *rows,
        "",
        "HNSW recall@10 against exact search (50 queries near stored vectors, iterative scan on):",
        "",
        "| chunks | recall@10 |",
        "| --- | ---: |",
        *recalls,
        "",
        "Keyword ranking alone, as the product keeps it and as pgvector sparse vectors with BM25 weights (terms "
        "hashed to a million dimensions, document side saturated and length-normalised, query side idf):",
        "",
        "| chunks | keyword path | p50 ms | p95 ms |",
        "| --- | --- | ---: | ---: |",
        *sparse_rows,
        "",
        _sentence("; ".join(sparse_notes)),
        "",
        f"Targets: hybrid `search()` within 1.2× the floor (p50 and p95) at {args.large // 1000}k chunks: "
        f"{large_verdict}; recall@10 at least "
        f"0.98: {recall_verdict}. The figures are taken on a 2-core machine shared with other work, so a single "
        "MiniLM query encode alone varies from a few to a few hundred milliseconds; compare rows within a table.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("query", report)


if __name__ == "__main__":
    main()
