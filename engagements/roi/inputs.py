"""Loading an engagement's ROI inputs: the same fixed number of queries for one engagement or a whole practice.

Time is priced and KPI measurements averaged per month in SQL; everything else (rates for forecasts, costs,
rules, scenarios, measured prices) is read once per query for every engagement asked for.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Avg
from django.db.models.functions import TruncMonth
from django.utils import timezone

from engagements.models import (
    Assignment,
    CostItem,
    Engagement,
    HourlyRate,
    Kpi,
    KpiMeasurement,
    RoiAssumptions,
    RoiScenario,
    TimeEntry,
    ValuationRule,
)
from engagements.roi import calc
from engagements.roi.infrastructure import MeasuredPrices, measured_prices

STANDARD_SCENARIOS: list[dict[str, Any]] = [
    {
        "name": "Conservative",
        "volume_share": Decimal("0.8"),
        "adoption_start_pct": 30,
        "adoption_target_pct": 70,
        "ramp_months": 9,
        "value_rate_pct": 90,
        "discount_rate_pct": 12,
        "outlook": RoiScenario.Outlook.LATEST,
    },
    {
        "name": "Expected",
        "volume_share": Decimal(1),
        "adoption_start_pct": 50,
        "adoption_target_pct": 85,
        "ramp_months": 6,
        "value_rate_pct": 100,
        "discount_rate_pct": 10,
        "outlook": RoiScenario.Outlook.LATEST,
    },
    {
        "name": "Optimistic",
        "volume_share": Decimal("1.2"),
        "adoption_start_pct": 60,
        "adoption_target_pct": 95,
        "ramp_months": 4,
        "value_rate_pct": 110,
        "discount_rate_pct": 8,
        "outlook": RoiScenario.Outlook.LATEST,
    },
]


@dataclass
class RoiBundle:
    """One engagement's ROI inputs, loaded once and computed under any number of scenarios."""

    engagement: Engagement
    assumptions: RoiAssumptions
    plan: calc.Plan
    scenarios: list[RoiScenario]
    rules: list[ValuationRule]
    kpis: list[Kpi]
    kpi_months: dict[int, dict[dt.date, float]]
    latest: dict[int, tuple[float, dt.date]]
    infra_notes: list[str] = field(default_factory=list)

    @property
    def primary(self) -> RoiScenario | None:
        return next((s for s in self.scenarios if s.is_primary), self.scenarios[0] if self.scenarios else None)

    @property
    def is_set_up(self) -> bool:
        return bool(self.rules) and bool(self.scenarios)


def roi_assumptions_default(*, engagement: Engagement) -> RoiAssumptions:
    """Unsaved assumptions for an engagement that has none yet: its start month, go-live at its target date."""
    start = calc.month_start(engagement.start_date or timezone.localdate(engagement.created_at))
    target = engagement.target_date
    go_live = calc.month_start(target) if target and target >= start else calc.add_months(start, 3)
    return RoiAssumptions(engagement=engagement, start_month=start, go_live_month=go_live)


def roi_scenario_default(*, engagement: Engagement) -> RoiScenario:
    """The unsaved "Expected" scenario shown before any is saved."""
    spec = {k: v for k, v in STANDARD_SCENARIOS[1].items() if k != "volume_share"}
    return RoiScenario(engagement=engagement, volume_per_month=Decimal(0), **spec)


def _f(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


LABOUR_SQL = """
    WITH periods AS (
        SELECT engagement_id, user_id, role, hourly_rate, effective_from AS since,
               LEAD(effective_from) OVER (PARTITION BY engagement_id, user_id, role ORDER BY effective_from) AS until
          FROM {rate} WHERE engagement_id = ANY(%(ids)s)
    ), priced AS (
        SELECT t.engagement_id, date_trunc('month', t.date)::date AS month, t.hours,
               COALESCE(person.hourly_rate, team_role.hourly_rate, fallback.hourly_rate) AS rate
          FROM {entry} t
          LEFT JOIN {assignment} a ON a.engagement_id = t.engagement_id AND a.user_id = t.user_id
          LEFT JOIN periods person ON person.engagement_id = t.engagement_id AND person.user_id = t.user_id
               AND t.date >= person.since AND (person.until IS NULL OR t.date < person.until)
          LEFT JOIN periods team_role ON team_role.engagement_id = t.engagement_id AND team_role.user_id IS NULL
               AND team_role.role <> '' AND team_role.role = a.role
               AND t.date >= team_role.since AND (team_role.until IS NULL OR t.date < team_role.until)
          LEFT JOIN periods fallback ON fallback.engagement_id = t.engagement_id AND fallback.user_id IS NULL
               AND fallback.role = '' AND t.date >= fallback.since
               AND (fallback.until IS NULL OR t.date < fallback.until)
         WHERE t.engagement_id = ANY(%(ids)s)
    )
    SELECT engagement_id, month, SUM(hours), COALESCE(SUM(hours * rate), 0),
           COALESCE(SUM(hours) FILTER (WHERE rate IS NULL), 0)
      FROM priced GROUP BY engagement_id, month
"""


def _labour_by_month(engagement_ids: list[int]) -> dict[int, dict[dt.date, calc.LabourMonth]]:
    """Hours and their cost per engagement and month, each entry priced in SQL with the rate in force that day.

    A person's own rate wins over their team role's, which wins over the engagement's default rate; within each,
    the latest rate whose ``effective_from`` is on or before the entry's date applies. Rates become periods (from
    one rate's date to the next one's), joined to the entries by range, so pricing a practice's year of time is
    one query of joins rather than a lookup per entry.
    """
    sql = LABOUR_SQL.format(
        rate=HourlyRate._meta.db_table, entry=TimeEntry._meta.db_table, assignment=Assignment._meta.db_table
    )
    labour: dict[int, dict[dt.date, calc.LabourMonth]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": engagement_ids})
        for engagement_id, month, hours, cost, unpriced in cursor.fetchall():
            labour[engagement_id][month] = calc.LabourMonth(float(hours), float(cost), float(unpriced))
    return labour


def _kpi_months(engagement_ids: list[int]) -> dict[int, dict[dt.date, float]]:
    """The mean of each KPI's measurements per month, computed in SQL."""
    rows = (
        KpiMeasurement.objects.filter(kpi__engagement_id__in=engagement_ids)
        .values("kpi_id", month=TruncMonth("measured_on"))
        .annotate(mean=Avg("value"))
    )
    months: dict[int, dict[dt.date, float]] = defaultdict(dict)
    for row in rows:
        months[row["kpi_id"]][row["month"]] = row["mean"]
    return months


def _latest(engagement_ids: list[int]) -> dict[int, tuple[float, dt.date]]:
    rows = (
        KpiMeasurement.objects.filter(kpi__engagement_id__in=engagement_ids)
        .order_by("kpi_id", "-measured_on")
        .distinct("kpi_id")
        .values_list("kpi_id", "value", "measured_on")
    )
    return {kpi_id: (value, day) for kpi_id, value, day in rows}


def _run_costs(
    assumptions: RoiAssumptions, measured: MeasuredPrices | None, currency: str
) -> tuple[calc.RunCosts, list[str]]:
    """The run-cost inputs: measured prices where there are some and the FDE wants them, entered ones elsewhere."""
    a, notes = assumptions, []
    prices = {
        "in": _f(a.infra_price_in_per_million),
        "out": _f(a.infra_price_out_per_million),
        "hourly": _f(a.infra_hourly_price),
        "monthly": _f(a.infra_monthly_amount),
    }
    if measured is not None and a.infra_use_measured and a.infra_basis != RoiAssumptions.InfraBasis.NONE:
        fx = 1.0 if measured.currency == currency else _f(a.measured_fx_rate)
        if fx is None:
            notes.append(
                f"Measured prices are in {measured.currency}; set the exchange rate into {currency} to use them."
            )
        else:
            for key, value in (
                ("in", measured.per_million_input),
                ("out", measured.per_million_output),
                ("hourly", measured.hourly),
                ("monthly", measured.monthly),
            ):
                if value is not None:
                    prices[key] = value * fx
            notes.append(f"Measured: {measured.detail}" if measured.detail else "Measured by the deployments.")
    needed = {"tokens": ("in", "out"), "hours": ("hourly",), "monthly": ("monthly",)}.get(a.infra_basis, ())
    if needed and all(prices[key] is None for key in needed):
        notes.append("The infrastructure line has no price yet, so it counts as nothing; enter one.")
    run = calc.RunCosts(
        infra_basis=a.infra_basis,
        infra_price_in=prices["in"],
        infra_price_out=prices["out"],
        infra_hourly=prices["hourly"],
        infra_hours=float(a.infra_hours_per_month),
        infra_monthly=prices["monthly"],
        tokens_in_per_unit=float(a.tokens_in_per_unit),
        tokens_out_per_unit=float(a.tokens_out_per_unit),
        api_price_in=_f(a.api_price_in_per_million),
        api_price_out=_f(a.api_price_out_per_million),
    )
    return run, notes


def _rule(rule: ValuationRule, kpi_months: dict[int, dict[dt.date, float]]) -> calc.Rule:
    kpi = rule.kpi
    return calc.Rule(
        key=str(rule.uuid),
        kpi=kpi.name,
        tier=kpi.tier,
        kind=rule.kind,
        higher_is_better=kpi.direction == Kpi.Direction.HIGHER,
        baseline=kpi.baseline,
        target=kpi.target,
        unit_value=float(rule.unit_value),
        factor=rule.factor,
        per_volume=rule.per_volume,
        monthly_values=kpi_months.get(kpi.pk, {}),
    )


def roi_bundles(*, engagements: Sequence[Engagement], today: dt.date | None = None) -> dict[int, RoiBundle]:
    """Every engagement's ROI inputs in a fixed number of queries, however many engagements, rows or months."""
    today = today or timezone.localdate()
    ids = [e.pk for e in engagements]
    saved = {a.engagement_id: a for a in RoiAssumptions.objects.filter(engagement_id__in=ids)}
    labour = _labour_by_month(ids)
    kpi_months = _kpi_months(ids)
    latest = _latest(ids)
    defaults: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    for rate in HourlyRate.objects.filter(engagement_id__in=ids, user__isnull=True, role=""):
        defaults[rate.engagement_id].append((rate.effective_from, float(rate.hourly_rate)))
    costs: dict[int, list[calc.Cost]] = defaultdict(list)
    for item in CostItem.objects.filter(engagement_id__in=ids):
        recurring = item.category == CostItem.Category.RECURRING
        costs[item.engagement_id].append(
            calc.Cost(item.name, float(item.amount), item.starts_on, item.ends_on, recurring=recurring)
        )
    rules: dict[int, list[ValuationRule]] = defaultdict(list)
    for rule in ValuationRule.objects.filter(engagement_id__in=ids).select_related("kpi"):
        rules[rule.engagement_id].append(rule)
    kpis: dict[int, list[Kpi]] = defaultdict(list)
    for kpi in Kpi.objects.filter(engagement_id__in=ids):
        kpis[kpi.engagement_id].append(kpi)
    scenarios: dict[int, list[RoiScenario]] = defaultdict(list)
    for scenario in RoiScenario.objects.filter(engagement_id__in=ids):
        scenarios[scenario.engagement_id].append(scenario)
    measured = measured_prices(ids) if ids else {}
    bundles = {}
    for engagement in engagements:
        assumptions = saved.get(engagement.pk) or roi_assumptions_default(engagement=engagement)
        run, notes = _run_costs(assumptions, measured.get(engagement.pk), engagement.currency)
        plan = calc.Plan(
            start=assumptions.start_month,
            go_live=assumptions.go_live_month,
            horizon=assumptions.horizon_months,
            today=today,
            labour=labour.get(engagement.pk, {}),
            build_hours=float(assumptions.build_hours_per_month),
            support_hours=float(assumptions.support_hours_per_month),
            forecast_rates=defaults.get(engagement.pk, []),
            costs=costs.get(engagement.pk, []),
            rules=[_rule(r, kpi_months) for r in rules.get(engagement.pk, [])],
            run=run,
        )
        bundles[engagement.pk] = RoiBundle(
            engagement=engagement,
            assumptions=assumptions,
            plan=plan,
            scenarios=scenarios.get(engagement.pk, []),
            rules=rules.get(engagement.pk, []),
            kpis=kpis.get(engagement.pk, []),
            kpi_months=kpi_months,
            latest=latest,
            infra_notes=notes,
        )
    return bundles


def roi_bundle(*, engagement: Engagement, today: dt.date | None = None) -> RoiBundle:
    return roi_bundles(engagements=[engagement], today=today)[engagement.pk]
