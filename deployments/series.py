"""Time series for the latency dashboard, aggregated in PostgreSQL.

The gateway's log is grouped into time buckets with ``date_bin`` and each bucket's p50/p95/p99 come from one
``percentile_cont(ARRAY[...])`` per column, so only one row per bucket leaves the database. The server's side comes
from the scrapes: one query returns each bucket's last reset-corrected bucket counts and counters (and the averages of
the gauges); the difference between consecutive buckets is what happened in the bucket, and its percentiles follow
``histogram_quantile``'s interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from deployments import histograms, rollups
from deployments.models import Deployment

QUANTILES = (0.5, 0.95, 0.99)
BUCKET_STEPS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(days=1),
)
MAX_POINTS = 200
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight, so hourly and daily buckets fall on round times


def bucket_for(start: datetime, end: datetime) -> timedelta:
    """The smallest step that draws the range in at most ``MAX_POINTS`` buckets."""
    span = end - start
    return next((step for step in BUCKET_STEPS if span / step <= MAX_POINTS), BUCKET_STEPS[-1])


RANGES = {"1h": ("Last hour", timedelta(hours=1)), "24h": ("Last day", timedelta(days=1)),
          "7d": ("Last week", timedelta(days=7))}  # fmt: skip
MAX_CUSTOM = timedelta(days=92)


@dataclass
class TimeRange:
    key: str
    start: datetime
    end: datetime
    error: str = ""

    @property
    def step(self) -> timedelta:
        return bucket_for(self.start, self.end)


def parse_range(params: Any, now: datetime | None = None) -> TimeRange:
    """The dashboard's range from ``?range=1h|24h|7d`` or ``?range=custom&start=...&end=...`` (ISO times)."""
    now = now or timezone.now()
    key = params.get("range", "24h")
    if key == "custom":
        start, end = _parse(params.get("start")), _parse(params.get("end")) or now
        if start is None:
            return TimeRange("24h", now - RANGES["24h"][1], now, "Give a start time for a custom range.")
        if end <= start:
            return TimeRange("24h", now - RANGES["24h"][1], now, "The end of the range must come after its start.")
        if end - start > MAX_CUSTOM:
            return TimeRange("24h", now - RANGES["24h"][1], now, "A custom range can cover at most 92 days.")
        return TimeRange("custom", start, min(end, now))
    _label, span = RANGES.get(key, RANGES["24h"])
    return TimeRange(key if key in RANGES else "24h", now - span, now)


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


@dataclass
class GatewaySeries:
    t: list[datetime] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    ttft: list[list[float | None]] = field(default_factory=list)  # per bucket: [p50, p95, p99]
    itl: list[list[float | None]] = field(default_factory=list)
    e2e: list[list[float | None]] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    prefill_s: list[float] = field(default_factory=list)
    decode_s: list[float] = field(default_factory=list)
    timed_calls: list[int] = field(default_factory=list)

    @property
    def total(self) -> dict[str, Any]:
        """Sums over the range, and the middle of the buckets' median gaps weighted by their calls (one more
        percentile over every row of the range would cost as much as all the buckets' percentiles together)."""
        if not self.t:
            return {}
        medians = sorted((p[0], n) for p, n in zip(self.itl, self.timed_calls, strict=True) if p[0] is not None)
        half, running, middle = sum(n for _, n in medians) / 2, 0, None
        for value, n in medians:
            running += n
            if running >= half:
                middle = value
                break
        return {
            "calls": sum(self.calls), "errors": sum(self.errors), "prompt_tokens": sum(self.prompt_tokens),
            "completion_tokens": sum(self.completion_tokens), "prefill_s": sum(self.prefill_s),
            "decode_s": sum(self.decode_s), "timed_calls": sum(self.timed_calls), "ms_per_token": middle,
        }  # fmt: skip


_GATEWAY_SQL = """
SELECT date_bin(%(step)s::interval, created_at, %(origin)s::timestamptz) AS t,
       count(*) AS calls,
       count(*) FILTER (WHERE status <> 'ok') AS errors,
       percentile_cont(%(fractions)s::float8[]) WITHIN GROUP (ORDER BY ttft_ms) FILTER (WHERE status = 'ok') AS ttft,
       percentile_cont(%(fractions)s::float8[]) WITHIN GROUP (ORDER BY gap_mean_ms) FILTER (WHERE status = 'ok')
           AS itl,
       percentile_cont(%(fractions)s::float8[]) WITHIN GROUP (ORDER BY total_ms) FILTER (WHERE status = 'ok') AS e2e,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(ttft_ms) FILTER (WHERE status = 'ok'), 0) / 1000.0 AS prefill_s,
       coalesce(sum(total_ms - ttft_ms) FILTER (WHERE status = 'ok'), 0) / 1000.0 AS decode_s,
       count(gap_mean_ms) FILTER (WHERE status = 'ok') AS timed_calls
FROM deployments_modelcall
WHERE deployment_id = %(deployment)s AND created_at >= %(start)s AND created_at < %(end)s
GROUP BY 1
ORDER BY 1
"""


def gateway_series(
    *, deployment: Deployment, start: datetime, end: datetime, step: timedelta, exact: bool = False
) -> GatewaySeries:
    """Per-bucket counts, percentiles, tokens and busy time of the deployment's calls.

    Buckets of whole hours (the week's view and longer) are summed from the hourly rollups, with percentiles
    within ``rollups.RESOLUTION`` of the exact ones; shorter buckets, or ``exact``, take ``percentile_cont`` over
    the calls themselves.
    """
    if rollups.covers(step) and not exact:
        rows = rollups.series_rows(deployment_id=deployment.pk, start=start, end=end, step=step, origin=ORIGIN,
                                   fractions=QUANTILES)  # fmt: skip
    else:
        rows = gateway_rows_exact(deployment=deployment, start=start, end=end, step=step)
    return _gateway_series(rows)


def gateway_rows_exact(
    *, deployment: Deployment, start: datetime, end: datetime, step: timedelta
) -> list[dict[str, Any]]:
    """The series' rows with ``percentile_cont`` over every call of each bucket."""
    params: dict[str, Any] = {"step": step, "origin": ORIGIN, "fractions": list(QUANTILES), "deployment": deployment.pk,
              "start": start, "end": end}  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        # A week of one deployment's calls is a few megabytes to sort: keep that sort in memory, not on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_GATEWAY_SQL, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _gateway_series(rows: list[dict[str, Any]]) -> GatewaySeries:
    series = GatewaySeries()
    for row in rows:
        series.t.append(row["t"])
        series.calls.append(row["calls"])
        series.errors.append(row["errors"])
        for name in ("ttft", "itl", "e2e"):
            getattr(series, name).append(list(row[name]) if row[name] else [None, None, None])
        series.prompt_tokens.append(row["prompt_tokens"])
        series.completion_tokens.append(row["completion_tokens"])
        series.prefill_s.append(float(row["prefill_s"]))
        series.decode_s.append(float(row["decode_s"]))
        series.timed_calls.append(row["timed_calls"])
    return series


@dataclass
class ServerSeries:
    t: list[datetime] = field(default_factory=list)
    ttft: list[list[float | None]] = field(default_factory=list)
    itl: list[list[float | None]] = field(default_factory=list)
    e2e: list[list[float | None]] = field(default_factory=list)
    requests: list[float | None] = field(default_factory=list)
    prompt_tps: list[float | None] = field(default_factory=list)
    generation_tps: list[float | None] = field(default_factory=list)
    prefix_hit_rate: list[float | None] = field(default_factory=list)
    preemptions: list[float | None] = field(default_factory=list)
    running: list[float | None] = field(default_factory=list)
    waiting: list[float | None] = field(default_factory=list)
    kv_cache_usage: list[float | None] = field(default_factory=list)
    # each bucket's counter increases, for totals and the busiest hour
    deltas: list[dict[str, float | None]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def has_latency(self) -> bool:
        return any(p[1] is not None for p in self.ttft + self.e2e)

    def total(self, counter: str) -> float | None:
        values = [v for d in self.deltas if (v := d[counter]) is not None]
        return sum(values) if values else None


_SERVER_SQL = """
WITH buckets AS (
    -- one pass over the index (it carries the gauges): each bucket's last scrape and the gauges' means
    SELECT date_bin(%(step)s::interval, scraped_at, %(origin)s::timestamptz) AS t, max(scraped_at) AS last_at,
           avg(running) AS running, avg(waiting) AS waiting, avg(kv_cache_usage) AS kv_cache_usage
    FROM deployments_serversample
    WHERE deployment_id = %(deployment)s AND ok AND scraped_at >= %(start)s AND scraped_at < %(end)s
    GROUP BY 1
), baseline AS (
    -- the first bucket's baseline: the last scrape before the range, or else the range's first scrape
    SELECT NULL::timestamptz AS t, coalesce(
        (SELECT max(scraped_at) FROM deployments_serversample
         WHERE deployment_id = %(deployment)s AND ok AND scraped_at < %(start)s),
        (SELECT min(scraped_at) FROM deployments_serversample
         WHERE deployment_id = %(deployment)s AND ok AND scraped_at >= %(start)s AND scraped_at < %(end)s)
    ) AS last_at, NULL::float8 AS running, NULL::float8 AS waiting, NULL::float8 AS kv_cache_usage
)
SELECT b.t, b.running, b.waiting, b.kv_cache_usage, s.*
FROM (SELECT * FROM baseline UNION ALL SELECT * FROM buckets) b
CROSS JOIN LATERAL (
    -- one index probe per bucket for the wide row with the bucket counts
    SELECT scraped_at, ttft_le, ttft_total, itl_le, itl_total, e2e_le, e2e_total, requests_total,
           prompt_tokens_total, generation_tokens_total, prefix_hits_total, prefix_queries_total, preemptions_total,
           prefill_seconds_total, decode_seconds_total
    FROM deployments_serversample
    WHERE deployment_id = %(deployment)s AND scraped_at = b.last_at AND ok
    LIMIT 1
) s
ORDER BY b.t NULLS FIRST
"""
_COUNTERS = (
    "requests", "prompt_tokens", "generation_tokens", "prefix_hits", "prefix_queries", "preemptions",
    "prefill_seconds", "decode_seconds",
)  # fmt: skip


def server_series(*, deployment: Deployment, start: datetime, end: datetime, step: timedelta) -> ServerSeries:
    with transaction.atomic(), connection.cursor() as cursor:
        params: dict[str, Any] = {
            "step": step, "origin": ORIGIN, "deployment": deployment.pk, "start": start, "end": end
        }  # fmt: skip
        # Parallel workers cost more to start than the week's index-only pass takes (measured 16 ms against 11).
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(_SERVER_SQL, params)
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    series = ServerSeries()
    previous: dict[str, Any] | None = None
    for row in rows:
        if row["t"] is None:  # the baseline scrape: only compared with, not drawn
            previous = row
            continue
        series.t.append(row["t"])
        for key in ("running", "waiting", "kv_cache_usage"):
            getattr(series, key).append(row[key])
        for key in ("ttft", "itl", "e2e"):
            getattr(series, key).append(_bucket_percentiles(previous, row, key))
        deltas = {c: _counter_delta(previous, row, c) for c in _COUNTERS}
        seconds = (row["scraped_at"] - previous["scraped_at"]).total_seconds() if previous else 0
        series.requests.append(deltas["requests"])
        series.prompt_tps.append(
            deltas["prompt_tokens"] / seconds if seconds and deltas["prompt_tokens"] is not None else None
        )
        series.generation_tps.append(
            deltas["generation_tokens"] / seconds if seconds and deltas["generation_tokens"] is not None else None
        )
        hits, queries = deltas["prefix_hits"], deltas["prefix_queries"]
        series.prefix_hit_rate.append(hits / queries if hits is not None and queries else None)
        series.preemptions.append(deltas["preemptions"])
        series.deltas.append(deltas)
        series.seconds.append(seconds)
        previous = row
    return series


def _counter_delta(previous: dict[str, Any] | None, row: dict[str, Any], name: str) -> float | None:
    key = f"{name}_total"
    if previous is None or previous[key] is None or row[key] is None:
        return None
    return max(0.0, row[key] - previous[key])


def _bucket_percentiles(previous: dict[str, Any] | None, row: dict[str, Any], key: str) -> list[float | None]:
    bounds, totals = row[f"{key}_le"], row[f"{key}_total"]
    if not bounds or previous is None:
        return [None, None, None]
    before = previous[f"{key}_total"]
    if previous[f"{key}_le"] != bounds or not before:
        return [None, None, None]  # the bucket layout changed (another vLLM version) between the two scrapes
    deltas = [max(0.0, a - b) for a, b in zip(totals, before, strict=True)]
    return [_ms(v) for v in histograms.quantiles(QUANTILES, bounds, deltas)]


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000
