"""Measured figures and cost per deployment and per engagement, aggregated in SQL for any number of deployments.

Cost: a deployment's hardware costs ``devices × hourly price`` for every hour of the window, whatever its traffic.
That cost is split between input and output tokens by where the server spent its time: prefill (prompts) against
decode (generating), from vLLM's ``request_prefill_time_seconds``/``request_decode_time_seconds`` when the server
is scraped, otherwise from the gateway's log (time to first token against the rest of each call). Dividing each
share by its tokens gives $ per 1M input and output tokens at the traffic the deployment actually had. The monthly
projection runs the window's token rate over 730 hours.

Capacity: the comparison table's throughput is the busiest hour's output tokens per second, and its $ per 1M output
tokens is the hourly price divided by that throughput: what the deployment costs when it is busy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from deployments.models import Deployment
from deployments.rollups import whole_hours
from deployments.series import ORIGIN

HOURS_PER_MONTH = 730.0

_LOG_SQL = """
SELECT deployment_id,
       count(*) AS calls,
       count(*) FILTER (WHERE status <> 'ok') AS errors,
       coalesce(sum(prompt_tokens), 0) AS input_tokens,
       coalesce(sum(completion_tokens), 0) AS output_tokens,
       coalesce(sum(ttft_ms) FILTER (WHERE status = 'ok'), 0) / 1000.0 AS prefill_s,
       coalesce(sum(total_ms - ttft_ms) FILTER (WHERE status = 'ok'), 0) / 1000.0 AS decode_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY gap_mean_ms) FILTER (WHERE status = 'ok') AS ms_per_token,
       count(gap_mean_ms) FILTER (WHERE status = 'ok') AS timed_calls
FROM deployments_modelcall
WHERE deployment_id = ANY(%(ids)s) AND created_at >= %(start)s AND created_at < %(end)s
GROUP BY deployment_id
"""
# The busiest hour: whole hours from the hourly rollups, the partial hours at the window's edges from the log.
_LOG_PEAK_SQL = """
SELECT deployment_id, max(tokens) / 3600.0 AS peak_tps FROM (
    SELECT deployment_id, completion_tokens AS tokens
    FROM deployments_modelcallhour
    WHERE deployment_id = ANY(%(ids)s) AND hour >= %(first_hour)s AND hour < %(last_hour)s AND calls > 0
    UNION ALL
    SELECT deployment_id, sum(completion_tokens)
    FROM deployments_modelcall
    WHERE deployment_id = ANY(%(ids)s) AND created_at >= %(start)s AND created_at < %(first_hour)s
    GROUP BY deployment_id
    UNION ALL
    SELECT deployment_id, sum(completion_tokens)
    FROM deployments_modelcall
    WHERE deployment_id = ANY(%(ids)s) AND created_at >= %(last_hour)s AND created_at < %(end)s
    GROUP BY deployment_id
) hourly GROUP BY deployment_id
"""
# First and last good scrape in the window per deployment, and the busiest hour's generation rate.
_SERVER_SQL = """
WITH w AS (
    SELECT deployment_id, scraped_at, prompt_tokens_total, generation_tokens_total, prefill_seconds_total,
           decode_seconds_total, requests_total, itl_p50_ms
    FROM deployments_serversample
    WHERE deployment_id = ANY(%(ids)s) AND ok AND scraped_at >= %(start)s AND scraped_at < %(end)s
), ends AS (
    SELECT deployment_id,
           min(scraped_at) AS first_at, max(scraped_at) AS last_at, count(*) AS samples
    FROM w GROUP BY deployment_id
), hourly AS (
    SELECT DISTINCT ON (deployment_id, date_trunc('hour', scraped_at))
           deployment_id, scraped_at, generation_tokens_total
    FROM w ORDER BY deployment_id, date_trunc('hour', scraped_at), scraped_at DESC
), rates AS (
    SELECT deployment_id,
           (generation_tokens_total - lag(generation_tokens_total) OVER (PARTITION BY deployment_id ORDER BY scraped_at))
           / nullif(extract(epoch FROM scraped_at - lag(scraped_at) OVER (PARTITION BY deployment_id ORDER BY scraped_at)), 0)
           AS tps
    FROM hourly
)
SELECT e.deployment_id, e.samples,
       l.prompt_tokens_total - f.prompt_tokens_total AS input_tokens,
       l.generation_tokens_total - f.generation_tokens_total AS output_tokens,
       l.prefill_seconds_total - f.prefill_seconds_total AS prefill_s,
       l.decode_seconds_total - f.decode_seconds_total AS decode_s,
       l.requests_total - f.requests_total AS requests,
       (SELECT max(tps) FROM rates r WHERE r.deployment_id = e.deployment_id) AS peak_tps,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY itl_p50_ms) FROM w
        WHERE w.deployment_id = e.deployment_id) AS ms_per_token
FROM ends e
JOIN w f ON f.deployment_id = e.deployment_id AND f.scraped_at = e.first_at
JOIN w l ON l.deployment_id = e.deployment_id AND l.scraped_at = e.last_at
"""  # noqa: E501


@dataclass
class Figures:
    """A deployment's measured traffic, speed and cost over a window; ``None`` where nothing was measured."""

    deployment: Deployment
    start: datetime
    end: datetime
    calls: int = 0
    errors: int = 0
    input_tokens: float = 0
    output_tokens: float = 0
    prefill_s: float = 0.0
    decode_s: float = 0.0
    token_source: str = ""
    ms_per_token: float | None = None
    ms_per_token_source: str = ""
    peak_tps: float | None = None
    peak_tps_source: str = ""

    @property
    def hourly_usd(self) -> float | None:
        hardware = self.deployment.hardware
        if hardware is None:
            return None
        return float(hardware.hourly_price_usd) * self.deployment.hardware_count

    @property
    def hours(self) -> float:
        begin = max(self.start, self.deployment.created_at)
        return max(0.0, (self.end - begin).total_seconds() / 3600)

    @property
    def hardware_usd(self) -> float | None:
        return None if self.hourly_usd is None else self.hourly_usd * self.hours

    @property
    def prefill_share(self) -> float | None:
        busy = self.prefill_s + self.decode_s
        return self.prefill_s / busy if busy > 0 else None

    def _per_million(self, share: float | None, tokens: float) -> float | None:
        if self.hardware_usd is None or share is None or not tokens:
            return None
        return self.hardware_usd * share / tokens * 1e6

    @property
    def usd_per_1m_input(self) -> float | None:
        return self._per_million(self.prefill_share, self.input_tokens)

    @property
    def usd_per_1m_output(self) -> float | None:
        share = self.prefill_share
        return self._per_million(None if share is None else 1 - share, self.output_tokens)

    @property
    def usd_per_1m_blended(self) -> float | None:
        tokens = self.input_tokens + self.output_tokens
        return None if self.hardware_usd is None or not tokens else self.hardware_usd / tokens * 1e6

    @property
    def error_rate(self) -> float | None:
        return 100.0 * self.errors / self.calls if self.calls else None

    @property
    def monthly_usd(self) -> float | None:
        return None if self.hourly_usd is None else self.hourly_usd * HOURS_PER_MONTH

    @property
    def monthly_input_tokens(self) -> float | None:
        return self.input_tokens / self.hours * HOURS_PER_MONTH if self.hours else None

    @property
    def monthly_output_tokens(self) -> float | None:
        return self.output_tokens / self.hours * HOURS_PER_MONTH if self.hours else None

    @property
    def capacity_usd_per_1m_output(self) -> float | None:
        if self.hourly_usd is None or not self.peak_tps:
            return None
        return self.hourly_usd / (self.peak_tps * 3600) * 1e6


def _rows(sql: str, params: dict[str, Any]) -> dict[int, dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _window_label(start: datetime, end: datetime) -> str:
    days = (end - start) / timedelta(days=1)
    return f"{days:.0f} days" if days >= 1.5 else f"{(end - start) / timedelta(hours=1):.0f} hours"


def _figures(
    d: Deployment,
    start: datetime,
    end: datetime,
    g: dict[str, Any] | None,
    s: dict[str, Any] | None,
    log_peak_tps: float | None,
) -> Figures:
    """Fill a deployment's figures from the log's row ``g`` and the server's row ``s``, preferring the server's
    counters (they also count traffic that bypassed the gateway) and the log's per-call latency."""
    window = _window_label(start, end)
    f = Figures(deployment=d, start=start, end=end)
    if g and g["calls"]:
        f.calls, f.errors = g["calls"], g["errors"]
    if s and s["samples"] >= 2 and s["output_tokens"] is not None:
        f.input_tokens, f.output_tokens = s["input_tokens"] or 0, s["output_tokens"] or 0
        f.prefill_s, f.decode_s = _num(s["prefill_s"]) or 0.0, _num(s["decode_s"]) or 0.0
        f.token_source = f"vLLM counters, {window}"
    elif g and g["calls"]:
        f.input_tokens, f.output_tokens = g["input_tokens"], g["output_tokens"]
        f.prefill_s, f.decode_s = _num(g["prefill_s"]) or 0.0, _num(g["decode_s"]) or 0.0
        f.token_source = f"gateway log, {g['calls']:,} calls over {window}"
    if g and g.get("ms_per_token") is not None:
        f.ms_per_token = float(g["ms_per_token"])
        how = g.get("ms_per_token_how", "median")
        f.ms_per_token_source = f"gateway log: {how} over {g['timed_calls']:,} calls, {window}"
    elif s and s.get("ms_per_token") is not None:
        f.ms_per_token = float(s["ms_per_token"])
        f.ms_per_token_source = f"vLLM inter-token histogram, {window}"
    if s and s.get("peak_tps"):
        f.peak_tps, f.peak_tps_source = float(s["peak_tps"]), f"vLLM counters, busiest hour of {window}"
    elif log_peak_tps:
        f.peak_tps, f.peak_tps_source = log_peak_tps, f"gateway log, busiest hour of {window}"
    return f


def fleet_figures(
    *, deployments: Iterable[Deployment], start: datetime, end: datetime | None = None
) -> dict[int, Figures]:
    """Figures for each deployment over [start, end), in three queries whatever the number of deployments."""
    end = end or timezone.now()
    deployments = list(deployments)
    first_hour, last_hour = whole_hours(start, end, ORIGIN)
    params = {"ids": [d.pk for d in deployments], "start": start, "end": end, "first_hour": first_hour,
              "last_hour": last_hour}  # fmt: skip
    log, log_peak, server = _rows(_LOG_SQL, params), _rows(_LOG_PEAK_SQL, params), _rows(_SERVER_SQL, params)
    return {
        d.pk: _figures(d, start, end, log.get(d.pk), server.get(d.pk), _num((log_peak.get(d.pk) or {}).get("peak_tps")))
        for d in deployments
    }


def _busiest_hour(times: list[datetime], amounts: list[float | None], step: timedelta) -> float | None:
    """Highest tokens per second over whole hours (or over each bucket when buckets are longer than an hour)."""
    per: dict[datetime, float] = {}
    span = max(step, timedelta(hours=1))
    for t, amount in zip(times, amounts, strict=True):
        if amount:
            key = t.replace(minute=0, second=0, microsecond=0) if step <= timedelta(hours=1) else t
            per[key] = per.get(key, 0.0) + amount
    return max(per.values()) / span.total_seconds() if per else None


def figures_from_series(
    *, deployment: Deployment, start: datetime, end: datetime, step: timedelta, gateway: Any, server: Any
) -> Figures:
    """The same figures as ``fleet_figures``, from the dashboard's own series: no second pass over the log."""
    total = gateway.total
    g = None
    if total:
        g = {**total, "input_tokens": total["prompt_tokens"], "output_tokens": total["completion_tokens"],
             "ms_per_token_how": "middle of the buckets' medians"}  # fmt: skip
    s = None
    if server.t:
        medians = sorted(p[0] for p in server.itl if p[0] is not None)
        s = {"samples": len(server.t) + 1, "input_tokens": server.total("prompt_tokens"),
             "output_tokens": server.total("generation_tokens"), "prefill_s": server.total("prefill_seconds"),
             "decode_s": server.total("decode_seconds"),
             "ms_per_token": medians[len(medians) // 2] if medians else None,
             "peak_tps": _busiest_hour(server.t, [d["generation_tokens"] for d in server.deltas], step)}  # fmt: skip
    log_peak = _busiest_hour(gateway.t, [float(c) for c in gateway.completion_tokens], step)
    return _figures(deployment, start, end, g, s, log_peak)


@dataclass
class EngagementCostRow:
    engagement_id: int
    name: str
    client: str
    input_tokens: float
    output_tokens: float
    usd: float | None
    monthly_usd: float | None
    unpriced_tokens: float

    @property
    def usd_per_1m_tokens(self) -> float | None:
        priced = self.input_tokens + self.output_tokens - self.unpriced_tokens
        return None if self.usd is None or not priced else self.usd / priced * 1e6


def engagement_cost_table(*, figures: dict[int, Figures], start: datetime, end: datetime) -> list[EngagementCostRow]:
    """Each engagement's tokens on these deployments priced at the deployments' $ per 1M input/output tokens."""
    from engagements.models import Engagement

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT engagement_id, deployment_id, coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0) "
            "FROM deployments_modelcall WHERE engagement_id IS NOT NULL AND deployment_id = ANY(%s) "
            "AND created_at >= %s AND created_at < %s GROUP BY 1, 2",
            [list(figures), start, end],
        )
        usage = cursor.fetchall()
    hours = max((end - start).total_seconds() / 3600, 1e-9)
    rows: dict[int, EngagementCostRow] = {}
    names = {e.pk: e for e in Engagement.objects.filter(pk__in={u[0] for u in usage}).select_related("client")}
    for engagement_id, deployment_id, tokens_in, tokens_out in usage:
        engagement = names[engagement_id]
        row = rows.setdefault(
            engagement_id,
            EngagementCostRow(engagement_id, engagement.name, engagement.client.name, 0, 0, None, None, 0),
        )
        row.input_tokens += tokens_in
        row.output_tokens += tokens_out
        f = figures[deployment_id]
        if f.usd_per_1m_input is None or f.usd_per_1m_output is None:
            row.unpriced_tokens += tokens_in + tokens_out
            continue
        usd = (tokens_in * f.usd_per_1m_input + tokens_out * f.usd_per_1m_output) / 1e6
        row.usd = (row.usd or 0.0) + usd
        row.monthly_usd = row.usd / hours * HOURS_PER_MONTH
    return sorted(rows.values(), key=lambda r: -(r.usd or 0))


def engagement_cost(*, engagement: Any, start: datetime, end: datetime | None = None) -> EngagementCostRow | None:
    """The engagement's row of ``engagement_cost_table`` over [start, end); None when it made no calls."""
    from deployments.models import ModelCall

    end = end or timezone.now()
    used = ModelCall.objects.filter(engagement=engagement, created_at__gte=start, created_at__lt=end)
    deployments = Deployment.objects.filter(pk__in=used.values("deployment_id")).select_related("hardware")
    figures = fleet_figures(deployments=deployments, start=start, end=end)
    rows = engagement_cost_table(figures=figures, start=start, end=end)
    return next((row for row in rows if row.engagement_id == engagement.pk), None)
