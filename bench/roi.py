"""The practice ROI roll-up at scale: many engagements, each with a year of time entries and KPI measurements.

``python -m bench.roi [--engagements 60] [--entries 2000] [--write]``. Rows are generated in SQL in the bench
database. It times ``roi_portfolio`` (time priced with effective-dated rates and KPI monthly means computed in
SQL, then the monthly arithmetic in Python) against the peer most ORM code would be: load every time entry and
measurement and price them in Python with the same rules. Both must agree to the cent before any time is shown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections import defaultdict
from decimal import Decimal
from typing import Any

from bench import prototype_setup as setup

START = dt.date(2026, 1, 1)


def _fill(engagements: int, entries: int) -> list[Any]:
    from django.db import connection

    from accounts.models import Client, User
    from accounts.services import client_create, user_create_provider
    from engagements.models import Engagement
    from engagements.services import engagement_assign, engagement_create, kpi_create
    from engagements.services.roi import (
        hourly_rate_create,
        roi_assumptions_update,
        roi_scenario_save,
        valuation_rule_create,
    )

    client = Client.objects.filter(name="Bench ROI client").first() or client_create(name="Bench ROI client")
    Engagement.objects.filter(client=client).delete()
    people = [
        User.objects.filter(email=f"roi-bench-{i}@provider.test").first()
        or user_create_provider(email=f"roi-bench-{i}@provider.test", password="bench-pass-1234")
        for i in range(4)
    ]
    made = []
    for n in range(engagements):
        engagement = engagement_create(client=client, name=f"ROI bench {n}", lead=people[0], start_date=START)
        for person, role in zip(people[1:], ("engineer", "engineer", "advisor"), strict=True):
            engagement_assign(engagement=engagement, user=person, role=role)
        lead = people[0]
        roi_assumptions_update(engagement=engagement, actor=lead, start_month=START, go_live_month=dt.date(2026, 6, 1))
        hourly_rate_create(engagement=engagement, actor=lead, hourly_rate=Decimal(120), effective_from=START)
        hourly_rate_create(
            engagement=engagement, actor=lead, role="engineer", hourly_rate=Decimal(140), effective_from=START
        )
        hourly_rate_create(
            engagement=engagement,
            actor=lead,
            user=people[1],
            hourly_rate=Decimal(155),
            effective_from=dt.date(2026, 7, 1),
        )
        kpi = kpi_create(engagement=engagement, actor=lead, name="Handling time", unit="min", baseline=25, target=12)
        valuation_rule_create(engagement=engagement, actor=lead, kpi=kpi, kind="hours_saved", unit_value=Decimal(40))
        roi_scenario_save(engagement=engagement, actor=lead, name="Expected", volume_per_month=Decimal(4000))
        made.append((engagement, kpi))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO engagements_timeentry (engagement_id, user_id, date, hours, phase, note, created_at)
            SELECT e.id, (%s::bigint[])[1 + i %% 4], %s::date + (i %% 365), 0.25 * (1 + i %% 32), 'prototype', '',
                   now()
            FROM unnest(%s::bigint[]) AS e(id), generate_series(1, %s) AS i
            """,
            [[p.pk for p in people], START, [e.pk for e, _ in made], entries],
        )
        cursor.execute(
            """
            INSERT INTO engagements_kpimeasurement (kpi_id, measured_on, value, source, note, created_at)
            SELECT k.id, %s::date + d, 25 - 10 * d / 365.0, 'csv', '', now()
            FROM unnest(%s::bigint[]) AS k(id), generate_series(0, 364, 3) AS d
            """,
            [START, [k.pk for _, k in made]],
        )
        cursor.execute("ANALYZE engagements_timeentry; ANALYZE engagements_kpimeasurement")
    return [e for e, _ in made]


def _python_labour(engagement_ids: list[int]) -> dict[int, dict[dt.date, Any]]:
    """The peer: every entry loaded and priced in Python (person, then role, then default; latest date first)."""
    from engagements.models import Assignment, HourlyRate, TimeEntry
    from engagements.roi import calc

    rates: dict[int, list[Any]] = defaultdict(list)
    for rate in HourlyRate.objects.filter(engagement_id__in=engagement_ids).order_by("-effective_from"):
        rates[rate.engagement_id].append(rate)
    roles = {(a.engagement_id, a.user_id): a.role for a in Assignment.objects.filter(engagement_id__in=engagement_ids)}
    totals: dict[int, dict[dt.date, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0, 0.0]))
    for entry in TimeEntry.objects.filter(engagement_id__in=engagement_ids).only(
        "engagement_id", "user_id", "date", "hours"
    ):
        candidates = [r for r in rates[entry.engagement_id] if r.effective_from <= entry.date]
        role = roles.get((entry.engagement_id, entry.user_id), "")
        chosen = (
            next((r for r in candidates if r.user_id == entry.user_id), None)
            or next((r for r in candidates if r.user_id is None and r.role == role and role), None)
            or next((r for r in candidates if r.user_id is None and r.role == ""), None)
        )
        bucket = totals[entry.engagement_id][calc.month_start(entry.date)]
        bucket[0] += float(entry.hours)
        if chosen is None:
            bucket[2] += float(entry.hours)
        else:
            bucket[1] += float(entry.hours * chosen.hourly_rate)
    return {eid: {m: calc.LabourMonth(h, c, u) for m, (h, c, u) in months.items()} for eid, months in totals.items()}


def _timed(fn: Any, repeat: int = 3) -> tuple[float, Any]:
    value = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2], value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engagements", type=int, default=60)
    parser.add_argument("--entries", type=int, default=2000, help="time entries per engagement")
    parser.add_argument("--write", action="store_true", help="Write the figures into bench/README.md.")
    args = parser.parse_args()
    setup.django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from engagements.models import Engagement
    from engagements.roi import inputs, selectors

    engagements = _fill(args.engagements, args.entries)
    ids = [e.pk for e in engagements]
    today = dt.date(2026, 12, 31)
    sql_ms, sql_labour = _timed(lambda: inputs._labour_by_month(ids))
    peer_ms, peer_labour = _timed(lambda: _python_labour(ids))
    for eid in ids:
        for month, labour in sql_labour[eid].items():
            assert abs(labour.cost - peer_labour[eid][month].cost) < 0.01, (eid, month)
    queryset = Engagement.objects.filter(pk__in=ids)
    rollup_ms, rows = _timed(lambda: selectors.roi_portfolio(engagements=queryset, today=today))
    connection.queries_log.clear()  # the fill's queries filled the debug log; count only the roll-up's
    with CaptureQueriesContext(connection) as queries:
        selectors.roi_portfolio(engagements=queryset, today=today)
    assert all(row["result"] is not None for row in rows)
    lines = [
        f"### Practice ROI roll-up ({dt.date.today():%Y-%m-%d}, {args.engagements} engagements × "
        f"{args.entries:,} time entries, a year of KPI measurements every third day)",
        "",
        "| step | median ms |",
        "| --- | ---: |",
        f"| price every time entry with its rate, per engagement and month: in SQL (this product) | {sql_ms:.0f} |",
        f"| the same, every entry loaded and priced in Python (peer) | {peer_ms:.0f} |",
        f"| the whole roll-up: load, price, 24 months × primary scenario per engagement | {rollup_ms:.0f} |",
        "",
        f"The roll-up ran {len(queries.captured_queries)} queries whatever the number of engagements; SQL and "
        "Python pricing agree to the cent.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        setup.write_section("roi", report)


if __name__ == "__main__":
    main()
