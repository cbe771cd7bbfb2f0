"""BM25 keyword ranking over a knowledge base, computed in PostgreSQL.

    score(chunk) = Σ over query terms t of  qtf(t) · idf(t) · tf / (tf + k1 · (1 − b + b · dl / avgdl))
    idf(t)       = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))

the Lucene form of BM25 (the default of Elasticsearch, OpenSearch and Lucene since 8.0; the ``lucene`` method of
the ``bm25s`` package), with k1 = 1.2 and b = 0.75. N, avgdl and df are the base's searchable chunks, their mean
length and how many contain t (``KeywordCorpus``, ``KeywordTerm``, kept exact by triggers); tf comes from the
chunk's ``search_vector`` (a word's positions) and dl is ``Chunk.term_count``. Words are what the base's text
search configuration makes of the text, so any language Postgres can split into words works, with stemming where
the base asks for it.

Every chunk that holds any query word is a match (OR semantics, as search engines rank); the ranking is exact, not
approximated, and cheap even when a question holds very common words, by the MaxScore argument: score first the
chunks that hold the query's rare words; a chunk holding only the remaining, common words cannot score more than the
sum of their upper bounds (qtf · idf each), so once the n-th best score found is at least that sum, no other chunk
can enter the top n. Common words still count in the scores of the chunks that are scored.

Quoted phrases and ``-word`` exclusions (``websearch_to_tsquery`` syntax) narrow the matches; BM25 still ranks them.

Why term statistics and the existing ``tsvector`` rather than pgvector ``sparsevec`` with BM25 weights: a sparse
vector must hold each chunk's length-normalised weights, which depend on the base's average chunk length, so every
ingestion would either rewrite every vector of the base or let the ranking drift from BM25; and the top n by inner
product comes either from a scan of every vector (exact, linear in the base) or from an HNSW graph over sparse
vectors (approximate, and poor for two- or three-word queries). Here a new document changes a few hundred rows of
counts, the GIN index finds candidates, and the ranking is exact at any time. The figures are in bench/README.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from django.db import connection

from rag.models import KnowledgeBase, TextSearchConfig

K1 = 1.2
B = 0.75
# Postings scored in the first pass: the query's rarest words until their chunk counts add up to this.
FIRST_PASS_POSTINGS = 2000
_OPERATORS = re.compile(r'"|(^|\s)-\w|\sor\s', re.IGNORECASE)


def idf(df: int, chunks: int) -> float:
    return math.log(1.0 + (chunks - df + 0.5) / (df + 0.5))


def term_score(tf: float, length: float, average_length: float) -> float:
    """One occurrence count's contribution before idf: saturating in tf, normalised by length."""
    return tf / (tf + K1 * (1.0 - B + B * length / average_length))


@dataclass(frozen=True)
class QueryTerm:
    term: str
    qtf: int
    df: int
    idf: float

    @property
    def weight(self) -> float:
        return self.qtf * self.idf


@dataclass(frozen=True)
class QueryPlan:
    terms: list[QueryTerm]  # words of the query found in the base, rarest first
    chunks: int
    average_length: float
    filter_tsquery: str = ""  # websearch_to_tsquery text when the query uses phrases or exclusions


TERMS_SQL = """
    SELECT q.lexeme, coalesce(array_length(q.positions, 1), 1), coalesce(t.df, 0), k.chunks, k.tokens
    FROM unnest(to_tsvector(%(config)s::regconfig, %(query)s)) q
    CROSS JOIN (SELECT coalesce(max(chunks), 0) AS chunks, coalesce(max(tokens), 0) AS tokens
                FROM rag_keywordcorpus WHERE knowledge_base_id = %(kb)s) k
    LEFT JOIN rag_keywordterm t ON t.knowledge_base_id = %(kb)s AND t.term = q.lexeme
"""

# k1, b and avgdl are cast to float8: sent as bare literals they are numeric, and every candidate's length norm was
# computed in arbitrary-precision arithmetic, which made hybrid search about a sixth slower at 100k chunks.
_SCORE_SQL = """
    SELECT c.id, sum(w.weight * u.tf / (u.tf + %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * c.term_count
                                                                  / %(avgdl)s::float8))) AS score
    FROM rag_chunk c JOIN rag_document d ON d.id = c.document_id
    CROSS JOIN LATERAL (
        SELECT lexeme, coalesce(array_length(positions, 1), 1)::float8 AS tf
        FROM unnest(ts_filter(setweight(c.search_vector, 'A', %(terms)s::text[]), '{{a}}'))
    ) u
    JOIN unnest(%(terms)s::text[], %(weights)s::float8[]) AS w(term, weight) ON w.term = u.lexeme
    WHERE c.search_vector @@ %(match)s::tsquery {exclude} {phrase} AND {where}
    GROUP BY c.id ORDER BY score DESC, c.id LIMIT %(limit)s
"""


def text_search_config(kb: KnowledgeBase) -> str:
    return kb.text_search_config if kb.text_search_config in TextSearchConfig.values else "simple"


def terms_params(kb: KnowledgeBase, query: str) -> dict[str, Any]:
    """The parameters of ``TERMS_SQL``, for callers that send it together with other statements."""
    return {"config": text_search_config(kb), "query": query, "kb": kb.pk}


def plan(kb: KnowledgeBase, query: str) -> QueryPlan:
    """The query's words as the base indexes them, with their document frequencies and the base's totals."""
    with connection.cursor() as cursor:
        cursor.execute(TERMS_SQL, terms_params(kb, query))
        return plan_from_rows(query, cursor.fetchall())


def plan_from_rows(query: str, rows: list[tuple[Any, ...]]) -> QueryPlan:
    """The plan from ``TERMS_SQL``'s rows."""
    chunks = int(rows[0][3]) if rows else 0
    tokens = int(rows[0][4]) if rows else 0
    terms = [QueryTerm(str(t), int(qtf), int(df), idf(int(df), chunks)) for t, qtf, df, _, _ in rows if df > 0]
    terms.sort(key=lambda t: (-t.idf, t.term))
    return QueryPlan(
        terms=terms,
        chunks=chunks,
        average_length=tokens / chunks if chunks else 0.0,
        filter_tsquery=query if _OPERATORS.search(query) else "",
    )


def _tsquery(terms: list[QueryTerm]) -> str:
    return " | ".join("'" + t.term.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)


def _score(
    query_plan: QueryPlan, match: list[QueryTerm], exclude: list[QueryTerm], where: str, params: dict[str, Any],
    limit: int,
) -> list[tuple[int, float]]:  # fmt: skip
    sql = _SCORE_SQL.format(
        where=where,
        exclude="AND NOT c.search_vector @@ %(exclude)s::tsquery" if exclude else "",
        phrase="AND c.search_vector @@ websearch_to_tsquery(%(config)s::regconfig, %(filter)s)"
        if query_plan.filter_tsquery
        else "",
    )
    values = {
        **params,
        "k1": K1,
        "b": B,
        "avgdl": query_plan.average_length or 1.0,
        "terms": [t.term for t in query_plan.terms],
        "weights": [t.weight for t in query_plan.terms],
        "match": _tsquery(match),
        "exclude": _tsquery(exclude),
        "filter": query_plan.filter_tsquery,
        "limit": limit,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [(int(cid), float(score)) for cid, score in cursor.fetchall()]


def search(
    kb: KnowledgeBase, query: str, where: str, params: dict[str, Any], limit: int, query_plan: QueryPlan | None = None
) -> list[tuple[int, float]]:
    """The ``limit`` best chunks by BM25 that pass ``where`` (SQL over ``c`` chunk and ``d`` document), best first.

    Ties are broken by chunk id, so the order is stable from one call to the next.
    """
    query_plan = query_plan or plan(kb, query)
    terms = query_plan.terms
    if not terms:
        return []
    params = {**params, "config": text_search_config(kb)}
    # First pass: the rarest words, at least one, until their chunk counts reach the budget.
    split, postings = 0, 0
    while split < len(terms) and (split == 0 or postings + terms[split].df <= FIRST_PASS_POSTINGS):
        postings += terms[split].df
        split += 1
    scored = _score(query_plan, terms[:split], [], where, params, limit)
    while split < len(terms):
        threshold = scored[limit - 1][1] if len(scored) >= limit else 0.0
        rest = sum(t.weight for t in terms[split:])
        if rest <= threshold:
            break  # no chunk holding only the remaining words can reach the top ``limit``
        # Move words from the common end into the scored set until the rest cannot reach the threshold.
        before = split
        while split < len(terms) and sum(t.weight for t in terms[split:]) > threshold:
            split += 1
        scored += _score(query_plan, terms[before:split], terms[:before], where, params, limit)
        scored.sort(key=lambda r: (-r[1], r[0]))
        scored = scored[:limit]
    return scored
