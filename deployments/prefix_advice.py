"""Prefix-cache advice for a deployment, from the prompt-prefix hashes of its logged calls.

KV-cache reuse ends at the first token that differs, so what matters is how far prompts agree from their start.
For each source of calls (a client application, or one of the product's own callers) and each length K of the
ladder in ``deployments.prompt_shape``: how many calls share their first K tokens with another call of the same
source, where most of them start to differ, and the hit rate a prefix-caching server could reach on this traffic
(each call's longest prefix already seen in an earlier call, over all prompt tokens), next to the rate the server
measured. The counting happens in SQL; Python only shapes the few aggregated rows.

A source gets the named warning "Variable text before fixed instructions" when most of its prompts contain the
same long sentence (fixed instructions) that starts after the point where the prompts already differ: the variable
part (a question, a date, a user name, an e-mail subject) sits in front and keeps the instructions out of the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from deployments.models import Deployment
from deployments.prompt_shape import LADDER

WINDOW_LIMIT = 20_000  # most recent calls analysed; enough for a stable picture, bounded on big tables
VARIABLE_FIRST = "Variable text before fixed instructions"

_RECENT = """
WITH recent AS (
    SELECT p.call_id, p.created_at, p.tokens, p.hashes, p.block_hash, p.block_start, p.block_tokens,
           c.prompt_tokens, COALESCE(a.name, c.caller) AS source
    FROM deployments_promptprefix p
    JOIN deployments_modelcall c ON c.id = p.call_id
    LEFT JOIN deployments_clientapplication a ON a.id = c.application_id
    WHERE p.deployment_id = %(deployment)s AND p.created_at >= %(since)s
    ORDER BY p.created_at DESC
    LIMIT %(limit)s
), levels AS (
    SELECT r.call_id, r.source, l.i, (%(ladder)s::int[])[l.i] AS k,
           count(*) OVER (PARTITION BY r.source, l.i, l.h) AS same_in_source,
           row_number() OVER (PARTITION BY l.i, l.h ORDER BY r.created_at, r.call_id) AS nth
    FROM recent r, unnest(r.hashes) WITH ORDINALITY AS l(h, i)
), per_call AS (
    SELECT call_id, source,
           COALESCE(max(k) FILTER (WHERE nth > 1), 0) AS cached,
           COALESCE(max(k) FILTER (WHERE same_in_source > 1), 0) AS shared
    FROM levels GROUP BY call_id, source
)
"""

_TOTALS = (
    _RECENT
    + """
SELECT r.source, count(*), sum(r.tokens), sum(r.prompt_tokens) FILTER (WHERE r.prompt_tokens IS NOT NULL),
       sum(r.tokens) FILTER (WHERE r.prompt_tokens IS NOT NULL),
       COALESCE(sum(pc.cached), 0),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY COALESCE(pc.shared, 0))
FROM recent r LEFT JOIN per_call pc ON pc.call_id = r.call_id
GROUP BY r.source ORDER BY count(*) DESC
"""
)

_LEVELS = (
    _RECENT
    + """
SELECT source, k, count(*), count(*) FILTER (WHERE same_in_source > 1)
FROM levels GROUP BY source, k ORDER BY source, k
"""
)

_BLOCKS = (
    _RECENT
    + """
SELECT DISTINCT ON (source) source, block_hash, count(*) AS n,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY block_start),
       percentile_disc(0.5) WITHIN GROUP (ORDER BY block_tokens)
FROM recent WHERE block_hash IS NOT NULL
GROUP BY source, block_hash ORDER BY source, n DESC
"""
)


@dataclass
class Level:
    k: int
    reach: int  # calls whose prompt is at least k tokens long
    sharing: int  # of those, calls whose first k tokens equal another call's of the same source

    @property
    def share(self) -> float:
        return self.sharing / self.reach if self.reach else 0.0


@dataclass
class SourceAdvice:
    name: str
    calls: int
    tokens: int
    cached_tokens: int
    median_shared: int
    levels: list[Level] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def expected_hit_rate(self) -> float:
        return self.cached_tokens / self.tokens if self.tokens else 0.0

    @property
    def differ_at(self) -> str:
        """Where most of this source's prompts stop agreeing, in words."""
        previous = 0
        for level in self.levels:
            if level.share < 0.5:
                return (
                    f"within the first {level.k} tokens" if previous == 0 else f"between token {previous} and {level.k}"
                )
            previous = level.k
        if not self.levels:
            return "prompts are shorter than 16 tokens"
        return f"not within their first {previous} tokens"


@dataclass
class PrefixAdvice:
    sources: list[SourceAdvice]
    calls: int
    tokens: int
    cached_tokens: int
    tokens_per_piece: float | None  # the server's prompt tokens per gateway token, to convert K
    measured: dict[str, Any]

    @property
    def expected_hit_rate(self) -> float:
        return self.cached_tokens / self.tokens if self.tokens else 0.0


def _rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def prefix_advice(*, deployment: Deployment, since: datetime, measured: dict[str, Any] | None = None) -> PrefixAdvice:
    params = {"deployment": deployment.pk, "since": since, "limit": WINDOW_LIMIT, "ladder": list(LADDER)}
    sources: dict[str, SourceAdvice] = {}
    model_tokens = counted_tokens = 0
    for name, calls, tokens, prompt_tokens, tokens_with_usage, cached, median_shared in _rows(_TOTALS, params):
        sources[name] = SourceAdvice(
            name=name, calls=calls, tokens=int(tokens or 0), cached_tokens=int(cached), median_shared=int(median_shared)
        )
        model_tokens += int(prompt_tokens or 0)
        counted_tokens += int(tokens_with_usage or 0)
    for name, k, reach, sharing in _rows(_LEVELS, params):
        sources[name].levels.append(Level(k=k, reach=reach, sharing=sharing))
    for name, _block, count, start, length in _rows(_BLOCKS, params):
        source = sources[name]
        # Equal passages past the point where the prompts differ: what differs must come before the passage.
        if count >= max(3, (source.calls + 1) // 2) and start > source.median_shared:
            differ_by = next((k for k in LADDER if k > source.median_shared), LADDER[-1])
            source.warnings.append(
                {
                    "code": "variable_text_first",
                    "name": VARIABLE_FIRST,
                    "detail": (
                        f"{count} of {source.calls} prompts contain the same {length}-token passage starting around "
                        f"token {start}, but they already differ by token {min(differ_by, start)}. Put the "
                        "fixed instructions first and the variable parts (the question, a date, a user name, an "
                        "e-mail subject) after them, so the instructions are computed once and reused on every call."
                    ),
                }
            )
    return PrefixAdvice(
        sources=list(sources.values()),
        calls=sum(s.calls for s in sources.values()),
        tokens=sum(s.tokens for s in sources.values()),
        cached_tokens=sum(s.cached_tokens for s in sources.values()),
        tokens_per_piece=model_tokens / counted_tokens if counted_tokens else None,
        measured=measured if measured is not None else {},
    )


def read_prefix_cache_counters(deployment: Deployment) -> dict[str, Any]:
    """The server's own prefix-cache counters (vLLM's /metrics), totals since it started.

    Read directly for now; the fleet's periodic /metrics scraper gives the same figures per interval.
    """
    try:
        response = httpx.get(f"{deployment.root_url}/metrics", timeout=settings.MODEL_HEALTH_TIMEOUT)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return {"ok": False, "error": f"the server's /metrics did not answer ({type(exc).__name__})"}
    totals = {"vllm:prefix_cache_hits": 0.0, "vllm:prefix_cache_queries": 0.0}
    found = False
    for family in text_string_to_metric_families(response.text):
        if family.name in totals:
            found = True
            totals[family.name] += sum(s.value for s in family.samples if s.name.endswith("_total"))
    if not found:
        return {"ok": False, "error": "the server does not report vllm:prefix_cache_hits and queries"}
    hits, queries = totals["vllm:prefix_cache_hits"], totals["vllm:prefix_cache_queries"]
    return {"ok": True, "hits": hits, "queries": queries, "rate": hits / queries if queries else None}
