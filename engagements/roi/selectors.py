"""Reads for the ROI: compute an engagement's figures under a scenario and shape them for whoever looks.

Two shapes leave this module: the FDE's (everything, rates included) and ``roi_client_summary``, the only one
meant for the client's eyes (figures and the chart's series; no rates, hours, valuation rules or notes).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import QuerySet

from engagements.models import Engagement, Kpi, RoiScenario
from engagements.roi import calc
from engagements.roi.inputs import RoiBundle, roi_bundles, roi_scenario_default

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
