"""Reading the call log's hourly rollups: bucketed series whose steps are whole hours, and their percentiles.

The rollups (``ModelCallHour``, ``ModelCallHourBucket``) are kept by triggers, so they always hold every call. A window
rarely starts or ends on the hour: its whole hours come from the rollups and the minutes before the first and after
the last whole hour from the log itself (through its covering index), bucketed by the same SQL function, so each
bucket counts exactly the calls the per-call query counts. Counts, errors, tokens and busy time are therefore exact;
percentiles come from the summed bucket counts and are within one bucket of the exact ``percentile_cont``.

Resolution: 16 log-spaced buckets per doubling from 2^-10 ms to 2^30 ms. Each call's latency is placed inside its
bucket by its rank there, and the q-quantile interpolates between the two ranks around q × (n - 1) as
``percentile_cont`` does, so the figure differs from the exact one by less than 2^(1/16) - 1 (4.4 %) of it.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

HOUR = timedelta(hours=1)
PER_OCTAVE = 16
LOWEST_EXPONENT = -10  # bucket 0 holds everything below 2^-10 ms
TOP_BUCKET = 1 + PER_OCTAVE * 40  # everything from 2^30 ms up
RESOLUTION = 2 ** (1 / PER_OCTAVE) - 1
METRICS = {1: "ttft", 2: "itl", 3: "e2e"}


def covers(step: timedelta) -> bool:
    """Whether a series in buckets of ``step`` can be read from the hourly rollups."""
    return step >= HOUR and step % HOUR == timedelta(0)


def bucket_bounds(bucket: int) -> tuple[float, float]:
    """The [lower, upper) latency in ms of a bucket of ``deployments_latency_bucket``."""
    if bucket <= 0:
        return 0.0, 2.0**LOWEST_EXPONENT
    lower = 2 ** ((bucket - 1) / PER_OCTAVE + LOWEST_EXPONENT)
    return lower, (math.inf if bucket >= TOP_BUCKET else lower * 2 ** (1 / PER_OCTAVE))


def quantiles(fractions: Sequence[float], buckets: Sequence[int], counts: Sequence[int]) -> list[float | None]:
    """``percentile_cont`` of each fraction over calls given as counts per bucket (buckets in ascending order; a
    bucket may repeat, each of its entries then holds its own calls).

    The k-th call (0-based) of a bucket holding c calls after C earlier ones is taken at (k - C + 0.5) / c of the
    way through the bucket; the top bucket, which has no upper bound, puts them all at its lower bound.
    """
    totals = list(itertools.accumulate(counts))  # calls up to and including each bucket
    running = totals[-1] if totals else 0
    if running <= 0:
        return [None for _ in fractions]

    def at(rank: int) -> float:
        i = bisect.bisect_right(totals, rank)
        before = totals[i - 1] if i else 0
        lower, upper = bucket_bounds(buckets[i])
        return lower if math.isinf(upper) else lower + (upper - lower) * (rank - before + 0.5) / (totals[i] - before)

    out: list[float | None] = []
    for q in fractions:
        position = q * (running - 1)
        low = math.floor(position)
        value = at(low)
        if position > low:
            value += (position - low) * (at(low + 1) - value)
        out.append(value)
    return out


_SQL = """
WITH edges AS (
    -- the calls before the window's first whole hour and after its last, read from the log's covering index
    SELECT created_at, status, ttft_ms, gap_mean_ms, total_ms, prompt_tokens, completion_tokens
    FROM deployments_modelcall
    WHERE deployment_id = %(deployment)s AND created_at >= %(start)s AND created_at < %(first_hour)s
    UNION ALL
    SELECT created_at, status, ttft_ms, gap_mean_ms, total_ms, prompt_tokens, completion_tokens
    FROM deployments_modelcall
    WHERE deployment_id = %(deployment)s AND created_at >= %(last_hour)s AND created_at < %(end)s
), totals AS (
    SELECT date_bin(%(step)s::interval, at, %(origin)s::timestamptz) AS t, sum(calls)::bigint AS calls,
           sum(errors)::bigint AS errors, sum(prompt_tokens)::bigint AS prompt_tokens,
           sum(completion_tokens)::bigint AS completion_tokens, sum(prefill_ms) / 1000.0 AS prefill_s,
           sum(decode_ms) / 1000.0 AS decode_s, sum(timed_calls)::bigint AS timed_calls
    FROM (
        SELECT hour AS at, calls, errors, prompt_tokens, completion_tokens, prefill_ms, decode_ms, timed_calls
        FROM deployments_modelcallhour
        WHERE deployment_id = %(deployment)s AND hour >= %(first_hour)s AND hour < %(last_hour)s AND calls > 0
        UNION ALL
        SELECT created_at, 1, (status <> 'ok')::int, coalesce(prompt_tokens, 0), coalesce(completion_tokens, 0),
               CASE WHEN status = 'ok' THEN coalesce(ttft_ms, 0) ELSE 0 END,
               CASE WHEN status = 'ok' THEN coalesce(total_ms - ttft_ms, 0) ELSE 0 END,
               (status = 'ok' AND gap_mean_ms IS NOT NULL)::int
        FROM edges
    ) parts
    GROUP BY 1
), edge_counts AS (
    SELECT date_bin(%(step)s::interval, e.created_at, %(origin)s::timestamptz) AS t, m.metric,
           deployments_latency_bucket(m.v) AS bucket, count(*) AS calls
    FROM edges e CROSS JOIN LATERAL (VALUES (1, e.ttft_ms), (2, e.gap_mean_ms), (3, e.total_ms)) AS m(metric, v)
    WHERE e.status = 'ok' AND m.v IS NOT NULL
    GROUP BY 1, 2, 3
), histograms AS (
    SELECT t, metric, array_agg(bucket ORDER BY bucket) AS buckets, array_agg(calls ORDER BY bucket) AS counts
    FROM edge_counts GROUP BY 1, 2
    UNION ALL
    -- buckets of one hour: each whole hour's histograms as the trigger stored them, nothing to add up
    SELECT h.hour, m.metric, m.buckets, m.counts
    FROM deployments_modelcallhour h
    CROSS JOIN LATERAL (VALUES (1, h.ttft_buckets, h.ttft_counts), (2, h.itl_buckets, h.itl_counts),
                               (3, h.e2e_buckets, h.e2e_counts)) AS m(metric, buckets, counts)
    WHERE %(hourly)s AND h.deployment_id = %(deployment)s AND h.hour >= %(first_hour)s AND h.hour < %(last_hour)s
      AND h.calls > 0 AND m.buckets IS NOT NULL
    UNION ALL
    -- longer buckets: add up their hours' bucket counts
    SELECT t, metric, array_agg(bucket ORDER BY bucket), array_agg(calls ORDER BY bucket)
    FROM (
        SELECT date_bin(%(step)s::interval, hour, %(origin)s::timestamptz) AS t, metric, bucket, sum(calls) AS calls
        FROM deployments_modelcallhourbucket
        WHERE NOT %(hourly)s AND deployment_id = %(deployment)s AND hour >= %(first_hour)s
          AND hour < %(last_hour)s AND calls > 0
        GROUP BY 1, 2, 3
    ) summed
    GROUP BY 1, 2
)
SELECT totals.*, h.metric, h.buckets, h.counts
FROM totals LEFT JOIN histograms h USING (t)
ORDER BY totals.t, h.metric
"""


def series_rows(
    *, deployment_id: int, start: datetime, end: datetime, step: timedelta, origin: datetime, fractions: Sequence[float]
) -> list[dict[str, Any]]:
    """One row per bucket with calls, in the shape of the per-call series query: counts and sums, and for each
    latency its percentiles at ``fractions`` (``None`` when no successful call measured it)."""
    first_hour, last_hour = whole_hours(start, end, origin)
    params: dict[str, Any] = {"deployment": deployment_id, "start": start, "end": end, "first_hour": first_hour,
              "last_hour": last_hour, "step": step, "origin": origin, "hourly": step == HOUR}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        names = [c.name for c in cursor.description]
        fetched = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    rows: dict[datetime, dict[str, Any]] = {}
    histograms: dict[tuple[datetime, str], list[tuple[list[int], list[int]]]] = {}
    for r in fetched:
        rows.setdefault(r["t"], {k: r[k] for k in names[:8]} | dict.fromkeys(METRICS.values()))
        if r["metric"] is not None:
            histograms.setdefault((r["t"], METRICS[r["metric"]]), []).append((r["buckets"], r["counts"]))
    for (t, metric), parts in histograms.items():
        buckets, counts = parts[0]
        if len(parts) > 1:  # a bucket of several hours that starts or ends with a partial hour read from the log
            pairs = sorted(pair for b, n in parts for pair in zip(b, n, strict=True))
            buckets, counts = [b for b, _ in pairs], [n for _, n in pairs]
        rows[t][metric] = quantiles(fractions, buckets, counts)
    return list(rows.values())


def whole_hours(start: datetime, end: datetime, origin: datetime) -> tuple[datetime, datetime]:
    """The first and past-the-last whole hour inside [start, end), equal when there is none."""
    past = (start - origin) % HOUR
    first = min(start if not past else start - past + HOUR, end)
    return first, max(first, end - (end - origin) % HOUR)
