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

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Aggregate, Count, DateTimeField, F, FloatField, Func, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from deployments import histograms
from deployments.models import Deployment, ModelCall

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


class DateBin(Func):
    """PostgreSQL's ``date_bin``: the start of the fixed-width time bucket a timestamp falls in."""

    function = "date_bin"
    output_field = DateTimeField()

    def __init__(self, step: timedelta, expression: Any) -> None:
        super().__init__(Value(step), expression, Value(ORIGIN))


class Percentiles(Aggregate):
    """``percentile_cont(ARRAY[...])``: several interpolated percentiles of a column from one sort."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[%(fractions)s]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(FloatField())

    def __init__(self, expression: str, fractions: tuple[float, ...] = QUANTILES, **extra: Any) -> None:
        super().__init__(expression, fractions=", ".join(str(float(f)) for f in fractions), **extra)


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


def gateway_series(*, deployment: Deployment, start: datetime, end: datetime, step: timedelta) -> GatewaySeries:
    ok = Q(status=ModelCall.Status.OK)
    rows = (
        ModelCall.objects.filter(deployment=deployment, created_at__gte=start, created_at__lt=end)
        .annotate(t=DateBin(step, F("created_at")))
        .values("t")
        .annotate(
            n=Count("id"),
            errors=Count("id", filter=~ok),
            ttft=Percentiles("ttft_ms", filter=ok),
            itl=Percentiles("gap_mean_ms", filter=ok),
            e2e=Percentiles("total_ms", filter=ok),
            prompt=Coalesce(Sum("prompt_tokens"), 0),
            completion=Coalesce(Sum("completion_tokens"), 0),
        )
        .order_by("t")
    )
    series = GatewaySeries()
    for row in rows:
        series.t.append(row["t"])
        series.calls.append(row["n"])
        series.errors.append(row["errors"])
        for name in ("ttft", "itl", "e2e"):
            getattr(series, name).append(list(row[name]) if row[name] else [None, None, None])
        series.prompt_tokens.append(row["prompt"])
        series.completion_tokens.append(row["completion"])
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

    @property
    def has_latency(self) -> bool:
        return any(p[1] is not None for p in self.ttft + self.e2e)


_SERVER_SQL = """
WITH binned AS (
    SELECT date_bin(%(step)s::interval, scraped_at, %(origin)s::timestamptz) AS t, *
    FROM deployments_serversample
    WHERE deployment_id = %(deployment)s AND ok AND scraped_at >= %(start)s AND scraped_at < %(end)s
), gauges AS (
    SELECT t, avg(running) AS running, avg(waiting) AS waiting, avg(kv_cache_usage) AS kv_cache_usage
    FROM binned GROUP BY t
), last_in_bucket AS (
    SELECT DISTINCT ON (t) t, scraped_at, ttft_le, ttft_total, itl_le, itl_total, e2e_le, e2e_total,
           requests_total, prompt_tokens_total, generation_tokens_total, prefix_hits_total, prefix_queries_total,
           preemptions_total
    FROM binned ORDER BY t, scraped_at DESC
), before AS (
    -- the baseline of the first bucket: the last scrape before the range, or else the range's first scrape
    SELECT NULL::timestamptz AS t, scraped_at, ttft_le, ttft_total, itl_le, itl_total, e2e_le, e2e_total,
           requests_total, prompt_tokens_total, generation_tokens_total, prefix_hits_total, prefix_queries_total,
           preemptions_total
    FROM deployments_serversample
    WHERE deployment_id = %(deployment)s AND ok AND scraped_at < %(end)s
    ORDER BY scraped_at >= %(start)s,
             CASE WHEN scraped_at < %(start)s THEN scraped_at END DESC,
             scraped_at
    LIMIT 1
)
SELECT b.*, g.running, g.waiting, g.kv_cache_usage FROM (
    SELECT * FROM before UNION ALL SELECT * FROM last_in_bucket
) b LEFT JOIN gauges g ON g.t = b.t
ORDER BY b.t NULLS FIRST
"""
_COUNTERS = ("requests", "prompt_tokens", "generation_tokens", "prefix_hits", "prefix_queries", "preemptions")


def server_series(*, deployment: Deployment, start: datetime, end: datetime, step: timedelta) -> ServerSeries:
    with connection.cursor() as cursor:
        cursor.execute(
            _SERVER_SQL,
            {"step": step,  # type: ignore[dict-item]
             "origin": ORIGIN, "deployment": deployment.pk,
             "start": start, "end": end},
        )  # fmt: skip
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    series = ServerSeries()
    previous: dict[str, Any] | None = None
    for row in rows:
        if row["t"] is None:  # the last scrape before the range: only the baseline for the first bucket
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
    return [_ms(histograms.quantile(q, bounds, deltas)) for q in QUANTILES]


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000
