"""The model-call log at scale: fill it with a million rows and time the reads dashboards make.

``python -m bench.call_log [--rows 1000000] [--write]``. Rows are generated in SQL (spread over 30 days and 4
deployments) in the bench database, then the deployment page's 24-hour summary and a 7-day range count are timed
and their plans checked for the indexes they are meant to use.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

from bench import prototype_setup as setup


def _fill(rows: int, deployment_ids: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM deployments_modelcall WHERE caller = 'bench.log'")
        cursor.execute("VACUUM FULL deployments_modelcall")  # so sizes below are of live rows only
        cursor.execute(
            """
            INSERT INTO deployments_modelcall (created_at, deployment_id, engagement_id, caller, status,
                prompt_tokens, completion_tokens, ttft_ms, total_ms, gap_count, gap_mean_ms, gap_p50_ms, gap_p95_ms,
                gap_max_ms, error)
            SELECT now() - interval '30 days' + (i * interval '30 days' / %s),
                   (%s::bigint[])[1 + i %% %s], NULL, 'bench.log', CASE WHEN i %% 50 = 0 THEN 'timeout' ELSE 'ok' END,
                   200 + i %% 300, 20 + i %% 100, 80 + random() * 400, 500 + random() * 3000, 40, 30, 28, 60, 90, ''
            FROM generate_series(1, %s) AS i
            """,
            [rows, deployment_ids, len(deployment_ids), rows],
        )
        cursor.execute("ANALYZE deployments_modelcall")


def _timed(fn: Any, repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def _plan(sql: str, params: list[Any]) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from django.db import connection
    from django.utils import timezone

    from deployments.models import ModelCall
    from deployments.selectors import model_call_recent, model_call_stats
    from deployments.services import deployment_save

    deployments = [
        deployment_save(name=f"Bench GPU {i}", base_url=f"http://gpu-{i}:8000/v1", served_model_name="m")
        for i in range(4)
    ]
    started = time.perf_counter()
    _fill(args.rows, [d.pk for d in deployments])
    fill_s = time.perf_counter() - started
    target = deployments[0]
    day = timezone.now() - dt.timedelta(hours=24)
    week = timezone.now() - dt.timedelta(days=7)
    summary_ms = _timed(lambda: model_call_stats(deployment=target, since=day))
    recent_ms = _timed(lambda: model_call_recent(deployment=target, limit=200))
    range_ms = _timed(lambda: ModelCall.objects.filter(created_at__gte=week).count())
    summary_sql, summary_params = (
        ModelCall.objects.filter(deployment=target, created_at__gte=day).values("id").query.sql_with_params()
    )
    summary_plan = _plan(summary_sql, list(summary_params))
    recent_sql, recent_params = (
        ModelCall.objects.filter(deployment=target).order_by("-created_at")[:200].query.sql_with_params()
    )
    recent_plan = _plan(recent_sql, list(recent_params))
    range_sql, range_params = ModelCall.objects.filter(created_at__gte=week).values("id").query.sql_with_params()
    range_plan = _plan(range_sql, list(range_params))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_relation_size('deployments_modelcall'), pg_relation_size('modelcall_created_brin'), "
            "pg_relation_size('modelcall_deployment_time')"
        )
        table, brin, btree = cursor.fetchone()
    uses = {
        "summary": "modelcall_deployment_time" in summary_plan,
        "range": "modelcall_created_brin" in range_plan,
        "recent": "modelcall_deployment_time" in recent_plan,
    }
    lines = [
        f"### Model-call log at {args.rows:,} rows ({dt.date.today():%Y-%m-%d}, 4 deployments over 30 days)",
        "",
        "| read | median ms | index in the plan |",
        "| --- | ---: | --- |",
        f"| one deployment's 24-hour summary (count, failures, TTFT p50/p95, p95 end to end, tokens) | "
        f"{summary_ms:.1f} | (deployment, created_at) B-tree: {'yes' if uses['summary'] else 'no'} |",
        f"| one deployment's latest 200 calls | {recent_ms:.1f} | (deployment, created_at) B-tree: "
        f"{'yes' if uses['recent'] else 'no'} |",
        f"| all calls of the last 7 days (count) | {range_ms:.1f} | BRIN on created_at: "
        f"{'yes' if uses['range'] else 'no'} |",
        "",
        f"Sizes: table {table / 2**20:.0f} MiB, BRIN index {brin / 2**10:.0f} KiB, (deployment, created_at) B-tree "
        f"{btree / 2**20:.0f} MiB. Filling took {fill_s:.0f} s.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("call-log", report)


if __name__ == "__main__":
    main()
