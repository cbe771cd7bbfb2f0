"""The latency dashboard at scale: a million logged calls over 30 days, and a week of server scrapes.

``python -m bench.dashboard [--rows 1000000] [--runs 30] [--write]``. Fills the call log the way ``bench.call_log``
does (4 deployments over 30 days; the triggers keep the hourly rollups as the rows go in) and 30 days of 30-second
``/metrics`` scrapes for the deployment under test, then renders the deployment's dashboard for the last hour, day
and week through Django (the whole page: series, costs, charts, template), each both ways in the same run: as the
page draws it (hourly rollups for buckets of an hour or more) and with ``percentile_cont`` over every call. It also
times the series alone and the obvious peer: loading the week's rows into Python and computing each hour's
percentiles there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import statistics
import time
from typing import Any

from bench import prototype_setup as setup
from bench.call_log import _fill

SCRAPE_SECONDS = 30
LE = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, float("inf")]


def _fill_samples(deployment_id: int, days: int = 30) -> int:
    """A month of scrapes of a busy server: cumulative buckets growing by a fixed spread every 30 s."""
    from django.db import connection

    spread = [0, 1, 3, 8, 20, 30, 20, 10, 5, 2, 1, 0, 0, 0, 0]
    cumulative = [sum(spread[: i + 1]) for i in range(len(spread))]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM deployments_serversample WHERE deployment_id = %s", [deployment_id])
        cursor.execute(
            """
            INSERT INTO deployments_serversample (deployment_id, scraped_at, ok, error, running, waiting,
                kv_cache_usage, ttft_le, ttft_raw, ttft_total, itl_le, itl_raw, itl_total, e2e_le, e2e_raw, e2e_total,
                requests_raw, requests_total, prompt_tokens_raw, prompt_tokens_total, generation_tokens_raw,
                generation_tokens_total, prefix_hits_raw, prefix_hits_total, prefix_queries_raw, prefix_queries_total,
                preemptions_raw, preemptions_total, prefill_seconds_raw, prefill_seconds_total, decode_seconds_raw,
                decode_seconds_total, reset)
            SELECT %(id)s, now() - make_interval(secs => i * %(step)s), true, '', 4, 1, 0.4,
                   %(le)s, c.v, c.v, %(le)s, c.v, c.v, %(le)s, c.v, c.v,
                   n * 100, n * 100, n * 40000, n * 40000, n * 12000, n * 12000, n * 9000, n * 9000,
                   n * 30000, n * 30000, 0, 0, n * 20, n * 20, n * 200, n * 200, false
            FROM generate_series(0, %(count)s) AS i,
                 LATERAL (SELECT (%(count)s - i + 1)::float8 AS n) AS k,
                 LATERAL (SELECT array_agg(x * k.n ORDER BY o) AS v FROM unnest(%(cum)s::float8[])
                          WITH ORDINALITY AS u(x, o)) AS c
            """,
            {"id": deployment_id, "step": SCRAPE_SECONDS, "le": LE, "count": days * 86400 // SCRAPE_SECONDS,
             "cum": [float(c) for c in cumulative]},
        )  # fmt: skip
        count = cursor.rowcount
        cursor.execute("ANALYZE deployments_serversample")
    return count


def _python_peer(deployment: Any, start: dt.datetime, end: dt.datetime) -> None:
    """Hourly p50/p95/p99 of three latencies computed in Python from the week's rows."""
    from deployments.models import ModelCall

    rows = ModelCall.objects.filter(deployment=deployment, created_at__gte=start, created_at__lt=end).values_list(
        "created_at", "ttft_ms", "gap_mean_ms", "total_ms"
    )
    hours: dict[dt.datetime, list[tuple[float | None, float | None, float]]] = {}
    for created, ttft, gap, total in rows.iterator(chunk_size=10_000):
        hours.setdefault(created.replace(minute=0, second=0, microsecond=0), []).append((ttft, gap, total))
    for values in hours.values():
        for column in zip(*values, strict=True):
            present = [v for v in column if v is not None]
            if len(present) > 1:
                statistics.quantiles(present, n=100, method="inclusive")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from accounts.services import user_create_provider
    from deployments.models import HardwareType
    from deployments.series import bucket_for, gateway_series, server_series
    from deployments.services import deployment_save

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    deployments = [
        deployment_save(
            name=f"Bench GPU {i}",
            base_url=f"http://gpu-{i}:8000/v1",
            served_model_name="m",
            hardware=HardwareType.objects.get(name="A100 80 GB"),
            sla_ttft_p95_ms=300,
            sla_e2e_p95_ms=3000,
        )
        for i in range(4)
    ]
    target = deployments[0]
    started = time.perf_counter()
    _fill(args.rows, [d.pk for d in deployments])
    samples = _fill_samples(target.pk)
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load: it sets the visibility map index-only scans rely on.
        cursor.execute("VACUUM (ANALYZE) deployments_modelcall")
        cursor.execute("VACUUM (ANALYZE) deployments_serversample")
        cursor.execute("VACUUM (ANALYZE) deployments_modelcallhour")
        cursor.execute("VACUUM (ANALYZE) deployments_modelcallhourbucket")
    fill_s = time.perf_counter() - started
    user = User.objects.filter(email="bench@provider.test").first() or user_create_provider(
        email="bench@provider.test", password="bench-pass-1234"
    )
    http = Client()
    http.force_login(user)
    from deployments.views import dashboard as dashboard_view

    fast_series = dashboard_view.gateway_series
    exact_series = functools.partial(gateway_series, exact=True)
    windows = ("1h", "24h", "7d")

    def render(window: str, exact: bool) -> None:
        dashboard_view.gateway_series = exact_series if exact else fast_series  # type: ignore[assignment]
        try:
            response = http.get(f"/deployments/{target.uuid}/?range={window}")
        finally:
            dashboard_view.gateway_series = fast_series
        assert response.status_code == 200 and b"latency-chart" in response.content

    end = timezone.now()
    start = end - dt.timedelta(days=7)
    step = bucket_for(start, end)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM deployments_modelcall WHERE deployment_id = %s AND created_at >= %s",
            [target.pk, start],
        )
        week_rows = cursor.fetchone()[0]
    # Interleave the contenders run by run, so a load spike on the shared machine hits them alike.
    contenders: dict[str, Any] = {}
    for window in windows:
        contenders[f"page {window}"] = functools.partial(render, window, False)
        contenders[f"page {window} exact"] = functools.partial(render, window, True)
    contenders |= {
        "gateway": lambda: gateway_series(deployment=target, start=start, end=end, step=step),
        "gateway exact": lambda: gateway_series(deployment=target, start=start, end=end, step=step, exact=True),
        "server": lambda: server_series(deployment=target, start=start, end=end, step=step),
        "python": lambda: _python_peer(target, start, end),
    }
    results: dict[str, list[float]] = {name: [] for name in contenders}
    load_before = os.getloadavg()[0]
    for fn in contenders.values():
        fn()  # warm the caches and the connection
    for _ in range(args.runs):
        for name, fn in contenders.items():
            began = time.perf_counter()
            fn()
            results[name].append((time.perf_counter() - began) * 1000)
    from deployments import rollups
    from deployments.series import ORIGIN

    first_hour, last_hour = rollups.whole_hours(start, end, ORIGIN)
    explain: dict[str, Any] = {"step": step, "origin": ORIGIN, "deployment": target.pk, "start": start, "end": end,
                               "first_hour": first_hour, "last_hour": last_hour, "hourly": True}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + rollups._SQL, explain)
        plan = "\n".join(r[0] for r in cursor.fetchall())

    def row(label: str, values: list[float]) -> str:
        return f"| {label} | {setup.percentile(values, 0.5):.1f} | {setup.percentile(values, 0.95):.1f} |"

    page_p95 = setup.percentile(results["page 7d"], 0.95)
    load = f"{load_before:.1f} before the runs, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores"
    labels = {"1h": "last hour, 1-minute buckets", "24h": "last day, 15-minute buckets",
              "7d": "last week, 1-hour buckets"}  # fmt: skip
    lines = [
        f"### Dashboard at {args.rows:,} logged calls ({dt.date.today():%Y-%m-%d}, {args.runs} runs each)",
        "",
        f"The deployment under test holds {week_rows:,} calls in the last week (of {args.rows:,} over 30 days and 4 "
        f"deployments) and {samples:,} server scrapes over 30 days.",
        "",
        "| what | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
    ]
    for window in windows:
        lines.append(row(f"whole page, {labels[window]} (as shipped)", results[f"page {window}"]))
        lines.append(
            row(f"whole page, {labels[window]}, `percentile_cont` over every call", results[f"page {window} exact"])
        )
    lines += [
        row("week's gateway series alone, from the hourly rollups", results["gateway"]),
        row("week's gateway series alone, `percentile_cont` per bucket over every call", results["gateway exact"]),
        row("week's server-histogram series alone (SQL, last scrape per bucket)", results["server"]),
        row("peer: the week's rows loaded into Python, hourly percentiles there", results["python"]),
        "",
        f"Target: page p95 at most 150 ms for the week: {'met' if page_p95 <= 150 else 'not met'} ({page_p95:.0f} ms). "
        f"The calls at the week's edges are read by an index-only scan of the covering (deployment, created_at) index: "
        f"{'yes' if 'Index Only Scan using modelcall_deployment_time' in plan else 'no'}. "
        f"Filling took {fill_s:.0f} s. Load average while measuring: {load}.",
    ]  # fmt: skip
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("dashboard", report)


if __name__ == "__main__":
    main()
