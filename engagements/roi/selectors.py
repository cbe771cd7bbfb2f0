"""Reads for the ROI: load an engagement's inputs in a fixed number of queries, compute, and shape the results.

Two shapes leave this module: the FDE's (everything, rates included) and ``roi_client_summary``, the only one
meant for the client's eyes (figures and the chart's series; no rates, hours, valuation rules or notes).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Avg, QuerySet
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

LINE_LABELS = {
    "labour": "FDE services",
    "one_off": "One-off costs",
    "recurring": "Recurring costs",
    "infrastructure": "Infrastructure",
    "api": "Model API",
}
CLIENT_KPI_FIELDS = (
    "name",
    "unit",
    "direction",
    "baseline",
    "target",
    "actual",
    "actual_on",
    "trend",
    "progress_pct",
    "progress_bar",
    "benefit",
)
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


def scenario_inputs(scenario: RoiScenario) -> calc.Scenario:
    return calc.Scenario(
        volume=float(scenario.volume_per_month),
        adoption_start=scenario.adoption_start_pct / 100,
        adoption_target=scenario.adoption_target_pct / 100,
        ramp_months=scenario.ramp_months,
        value_rate=scenario.value_rate_pct / 100,
        discount_rate=scenario.discount_rate_pct / 100,
        outlook=scenario.outlook,
    )


def roi_compute(*, bundle: RoiBundle, scenario: RoiScenario) -> calc.RoiResult:
    result = calc.compute(bundle.plan, scenario_inputs(scenario))
    result.warnings.extend(note for note in bundle.infra_notes if not note.startswith("Measured"))
    return result


def _trend(kpi: Kpi, months: dict[dt.date, float]) -> float | None:
    """The change of the monthly mean from the previous measured month, positive when the KPI got better."""
    recent = sorted(months)[-2:]
    if len(recent) < 2:
        return None
    change = months[recent[1]] - months[recent[0]]
    return change if kpi.direction == Kpi.Direction.HIGHER else -change


def roi_tiers(*, bundle: RoiBundle, result: calc.RoiResult) -> list[dict[str, Any]]:
    """Operational → business → financial: each KPI's baseline, target, latest value, trend and valued benefit."""
    benefit_by_kpi: dict[int, float] = defaultdict(float)
    for rule in bundle.rules:
        benefit_by_kpi[rule.kpi_id] += result.benefit_by_rule.get(str(rule.uuid), 0.0)
    tiers = []
    for tier, label in Kpi.Tier.choices:
        rows = []
        for kpi in (k for k in bundle.kpis if k.tier == tier):
            actual, measured_on = bundle.latest.get(kpi.pk, (None, None))
            progress = None
            if actual is not None and kpi.baseline is not None and kpi.target not in (None, kpi.baseline):
                progress = (actual - kpi.baseline) / (kpi.target - kpi.baseline) * 100
            rows.append(
                {
                    "name": kpi.name,
                    "unit": kpi.unit,
                    "direction": kpi.direction,
                    "baseline": kpi.baseline,
                    "target": kpi.target,
                    "actual": actual,
                    "actual_on": measured_on,
                    "trend": _trend(kpi, bundle.kpi_months.get(kpi.pk, {})),
                    "progress_pct": progress,
                    "progress_bar": None if progress is None else max(0.0, min(100.0, progress)),
                    "benefit": benefit_by_kpi.get(kpi.pk),
                }
            )
        tiers.append({"tier": tier, "label": label, "kpis": rows})
    return tiers


def roi_client_summary(*, bundle: RoiBundle, scenario: RoiScenario, result: calc.RoiResult) -> dict[str, Any]:
    """What the client may see of an engagement's ROI: figures and the chart's series, nothing internal.

    Built field by field from an allow-list: no rates (hourly, valuation or infrastructure prices), no hours, no
    per-person figures, no valuation rules and no notes. The portal, the API and the review pack use this.
    """
    m = calc.money
    a = bundle.assumptions
    return {
        "currency": bundle.engagement.currency,
        "scenario": {
            "name": scenario.name,
            "volume_per_month": float(scenario.volume_per_month),
            "volume_unit": a.volume_unit,
            "adoption_start_pct": scenario.adoption_start_pct,
            "adoption_target_pct": scenario.adoption_target_pct,
            "ramp_months": scenario.ramp_months,
            "discount_rate_pct": scenario.discount_rate_pct,
            "outlook": scenario.get_outlook_display(),
        },
        "start_month": a.start_month,
        "go_live_month": a.go_live_month,
        "horizon_months": a.horizon_months,
        "figures": {
            "total_investment": m(result.total_investment),
            "total_benefit": m(result.total_benefit),
            "net": m(result.net),
            "roi_percent": None if result.roi_percent is None else round(result.roi_percent, 1),
            "npv": m(result.npv),
            "payback_months": None if result.payback_months is None else round(result.payback_months, 1),
            "payback_month": result.payback_month,
        },
        "investment_by_line": [
            {"line": LINE_LABELS[line], "amount": m(amount)} for line, amount in result.investment_by_line.items()
        ],
        "months": [
            {
                "month": row.month,
                "forecast": row.forecast,
                "adoption_pct": round(row.adoption * 100, 1),
                "investment": m(row.investment),
                "benefit": m(row.benefit),
                "cumulative_investment": m(row.cumulative_investment),
                "cumulative_benefit": m(row.cumulative_benefit),
            }
            for row in result.months
        ],
        "tiers": [
            {
                "tier": t["tier"],
                "label": t["label"],
                "kpis": [{k: kpi[k] for k in CLIENT_KPI_FIELDS} for kpi in t["kpis"]],
            }
            for t in roi_tiers(bundle=bundle, result=result)
        ],
    }


def roi_scenario_for_engagement(*, bundle: RoiBundle, uuid: Any = None) -> RoiScenario:
    """The scenario asked for by uuid, else the primary one, else the unsaved default."""
    chosen = next((s for s in bundle.scenarios if uuid and str(s.uuid) == str(uuid)), None)
    return chosen or bundle.primary or roi_scenario_default(engagement=bundle.engagement)


def roi_portfolio(*, engagements: QuerySet[Engagement], today: dt.date | None = None) -> list[dict[str, Any]]:
    """Each engagement's primary-scenario ROI for the practice roll-up, in a fixed number of queries."""
    engagements_list = list(engagements)
    bundles = roi_bundles(engagements=engagements_list, today=today)
    rows = []
    for engagement in engagements_list:
        bundle = bundles[engagement.pk]
        scenario = bundle.primary
        result = roi_compute(bundle=bundle, scenario=scenario) if scenario and bundle.rules else None
        to_date = [m for m in result.months if not m.forecast] if result else []
        rows.append(
            {
                "engagement": engagement,
                "scenario": scenario,
                "result": result,
                "invested_to_date": to_date[-1].cumulative_investment if to_date else None,
                "benefit_to_date": to_date[-1].cumulative_benefit if to_date else None,
            }
        )
    return rows


def roi_portfolio_totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Totals per currency: amounts in different currencies are never added together."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        result = row["result"]
        if result is None:
            continue
        total = totals.setdefault(
            row["engagement"].currency,
            {"currency": row["engagement"].currency, "investment": 0.0, "benefit": 0.0, "npv": 0.0, "count": 0},
        )
        total["investment"] += result.total_investment
        total["benefit"] += result.total_benefit
        total["npv"] += result.npv
        total["count"] += 1
    for total in totals.values():
        investment = total["investment"]
        total["roi_percent"] = (total["benefit"] - investment) / investment * 100 if investment else None
    return sorted(totals.values(), key=lambda t: t["currency"])
