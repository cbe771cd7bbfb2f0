"""The ROI arithmetic, as pure functions over plain data, so every figure can be checked by hand.

The conventions are the ones a spreadsheet would use, so an FDE can rebuild any figure:

- A month is its first day; month ``i`` is the ``i``-th month after the first one counted (``i`` from 0).
- Amounts are floats in the engagement's currency. Nothing is rounded while computing; figures are rounded to
  cents (``money``) only when they are shown or serialised, so a shown total can differ by a cent from the sum of
  the shown months.
- Months up to and including the current one use what is recorded (time entries, costs, measurements); later
  months are forecast.
- Adoption ``k`` months after go-live (``k = 0`` in the go-live month) is ``start + (target - start) × min(1, k /
  ramp)``; a ramp of 0 months starts at the target. Before go-live nothing is in use: no benefit, no run costs.
- A KPI's value for a month is the mean of that month's measurements. A recorded month without a measurement keeps
  the previous month's value; before the first measurement there is none, so no benefit. Forecast months use the
  scenario's outlook: the latest monthly value held, or the KPI's target.
- Improvement is ``value - baseline`` for a higher-is-better KPI and ``baseline - value`` for a lower-is-better one;
  it is negative when the KPI got worse, and then so is the benefit.
- ROI % = (total benefit - total investment) / total investment × 100 over the horizon, undiscounted.
- NPV discounts month ``i``'s net flow by ``(1 + r)^(i + 1)`` with the monthly rate ``r = (1 + annual)^(1/12) - 1``,
  as a spreadsheet's ``NPV(r, flows)`` does.
- Payback is the number of months from the start until cumulative benefit reaches cumulative investment for good
  (and stays there to the horizon), interpolated within the month it happens in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

INVESTMENT_LINES = ("labour", "one_off", "recurring", "infrastructure", "api")


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, later: dt.date) -> int:
    """Whole months from ``first``'s month to ``later``'s (negative when ``later`` is earlier)."""
    return (later.year - first.year) * 12 + later.month - first.month


def money(amount: float) -> float:
    return round(amount + 0.0, 2)


@dataclass(frozen=True)
class LabourMonth:
    """FDE time recorded in a month, priced with the rates in force on each entry's date."""

    hours: float
    cost: float
    unpriced_hours: float = 0.0


@dataclass(frozen=True)
class Cost:
    name: str
    amount: float
    starts: dt.date
    ends: dt.date | None = None
    recurring: bool = False


@dataclass(frozen=True)
class Rule:
    """A valuation rule with what it needs of its KPI: direction, baseline, target and monthly values."""

    key: str
    kpi: str
    tier: str
    kind: str
    higher_is_better: bool
    baseline: float | None
    target: float | None
    unit_value: float
    factor: float = 1.0
    per_volume: bool = True
    monthly_values: Mapping[dt.date, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RunCosts:
    """Infrastructure (one basis: tokens, hours, a monthly amount, or none) and a per-token API line."""

    infra_basis: str = "none"
    infra_price_in: float | None = None
    infra_price_out: float | None = None
    infra_hourly: float | None = None
    infra_hours: float = 730.0
    infra_monthly: float | None = None
    tokens_in_per_unit: float = 0.0
    tokens_out_per_unit: float = 0.0
    api_price_in: float | None = None
    api_price_out: float | None = None


@dataclass(frozen=True)
class Plan:
    """Everything but the scenario: the timeline, what is recorded, forecast effort, costs and rules."""

    start: dt.date
    go_live: dt.date
    horizon: int
    today: dt.date
    labour: Mapping[dt.date, LabourMonth] = field(default_factory=dict)
    build_hours: float = 0.0
    support_hours: float = 0.0
    forecast_rates: Sequence[tuple[dt.date, float]] = ()
    costs: Sequence[Cost] = ()
    rules: Sequence[Rule] = ()
    run: RunCosts = field(default_factory=RunCosts)


@dataclass(frozen=True)
class Scenario:
    volume: float
    adoption_start: float = 0.5
    adoption_target: float = 0.85
    ramp_months: int = 6
    value_rate: float = 1.0
    discount_rate: float = 0.10
    outlook: str = "latest"


@dataclass
class MonthResult:
    month: dt.date
    forecast: bool
    adoption: float
    hours: float = 0.0
    labour: float = 0.0
    one_off: float = 0.0
    recurring: float = 0.0
    infrastructure: float = 0.0
    api: float = 0.0
    benefit_by_rule: dict[str, float] = field(default_factory=dict)
    kpi_basis: dict[str, str] = field(default_factory=dict)
    cumulative_investment: float = 0.0
    cumulative_benefit: float = 0.0

    @property
    def investment(self) -> float:
        return self.labour + self.one_off + self.recurring + self.infrastructure + self.api

    @property
    def benefit(self) -> float:
        return sum(self.benefit_by_rule.values())

    @property
    def net(self) -> float:
        return self.benefit - self.investment

    @property
    def cumulative_net(self) -> float:
        return self.cumulative_benefit - self.cumulative_investment


@dataclass
class RoiResult:
    months: list[MonthResult]
    total_investment: float
    total_benefit: float
    roi_percent: float | None
    npv: float
    payback_months: float | None
    payback_month: dt.date | None
    investment_by_line: dict[str, float]
    benefit_by_rule: dict[str, float]
    warnings: list[str]

    @property
    def net(self) -> float:
        return self.total_benefit - self.total_investment


def adoption(scenario: Scenario, months_after_go_live: int) -> float:
    if months_after_go_live < 0:
        return 0.0
    if scenario.ramp_months <= 0:
        return scenario.adoption_target
    share = min(1.0, months_after_go_live / scenario.ramp_months)
    return scenario.adoption_start + (scenario.adoption_target - scenario.adoption_start) * share


def _rate_on(rates: Sequence[tuple[dt.date, float]], month: dt.date) -> float | None:
    applying = [(since, rate) for since, rate in rates if month_start(since) <= month]
    return max(applying)[1] if applying else None


def _blended_rate(labour: Mapping[dt.date, LabourMonth]) -> float | None:
    priced = sum(m.hours - m.unpriced_hours for m in labour.values())
    return sum(m.cost for m in labour.values()) / priced if priced else None


def _kpi_value(rule: Rule, month: dt.date, current: dt.date, outlook: str) -> tuple[float | None, str]:
    """The KPI's value used for ``month`` and how it was found (measured, carried, latest, target, none)."""
    recorded = sorted(m for m in rule.monthly_values if m <= min(month, current))
    if month <= current:
        if month in rule.monthly_values:
            return rule.monthly_values[month], "measured"
        return (rule.monthly_values[recorded[-1]], "carried") if recorded else (None, "none")
    if outlook == "target" and rule.target is not None:
        return rule.target, "target"
    return (rule.monthly_values[recorded[-1]], "latest") if recorded else (None, "none")


def _benefit(rule: Rule, value: float, scenario: Scenario, share: float) -> float:
    if rule.baseline is None:
        return 0.0
    improvement = value - rule.baseline if rule.higher_is_better else rule.baseline - value
    quantity = improvement * rule.factor * (scenario.volume * share if rule.per_volume else 1.0)
    return quantity * rule.unit_value * scenario.value_rate


def _run_costs(run: RunCosts, volume_in_use: float, live: bool) -> tuple[float, float]:
    """(infrastructure, API) for a month in which ``volume_in_use`` units of work use the product."""
    if not live:
        return 0.0, 0.0
    millions_in = volume_in_use * run.tokens_in_per_unit / 1e6
    millions_out = volume_in_use * run.tokens_out_per_unit / 1e6
    infra = 0.0
    if run.infra_basis == "tokens":
        infra = millions_in * (run.infra_price_in or 0.0) + millions_out * (run.infra_price_out or 0.0)
    elif run.infra_basis == "hours":
        infra = (run.infra_hourly or 0.0) * run.infra_hours
    elif run.infra_basis == "monthly":
        infra = run.infra_monthly or 0.0
    api = millions_in * (run.api_price_in or 0.0) + millions_out * (run.api_price_out or 0.0)
    return infra, api


def _warnings(plan: Plan, months: list[MonthResult]) -> list[str]:
    warnings = []
    unpriced = sum(m.unpriced_hours for mon, m in plan.labour.items() if mon <= month_start(plan.today))
    if unpriced:
        warnings.append(
            f"{unpriced:g} h of logged time have no rate and count as nothing; add a rate for those people, "
            "their role, or a default rate."
        )
    if not plan.rules:
        warnings.append("No valuation rules yet, so no benefit is counted; add one per KPI that carries value.")
    end = add_months(plan.start, plan.horizon)
    if month_start(plan.go_live) >= end:
        warnings.append("Go-live falls after the last month counted, so no benefit is counted; move it or extend.")
    for rule in plan.rules:
        if month_start(plan.go_live) >= end:
            break
        if rule.baseline is None:
            warnings.append(f"{rule.kpi} has no baseline, so its improvement cannot be valued; set its baseline.")
        elif not any(m.kpi_basis.get(rule.key) not in (None, "none", "before go-live") for m in months):
            warnings.append(f"{rule.kpi} has no measurement yet, so it adds no benefit in this scenario.")
    for cost in plan.costs:
        if not cost.recurring and not plan.start <= month_start(cost.starts) < end:
            warnings.append(f"The one-off cost “{cost.name}” falls outside the months counted and is left out.")
    return warnings


def compute(plan: Plan, scenario: Scenario) -> RoiResult:
    """Cost and benefit month by month over the horizon, and the figures derived from them."""
    current = month_start(plan.today)
    go_live = month_start(plan.go_live)
    blended = _blended_rate(plan.labour)
    months: list[MonthResult] = []
    cumulative_investment = cumulative_benefit = 0.0
    for i in range(plan.horizon):
        month = add_months(month_start(plan.start), i)
        after_go_live = months_between(go_live, month)
        share = adoption(scenario, after_go_live)
        row = MonthResult(month=month, forecast=month > current, adoption=share)
        if month <= current:
            recorded = plan.labour.get(month, LabourMonth(0.0, 0.0))
            row.hours, row.labour = recorded.hours, recorded.cost
        else:
            row.hours = plan.build_hours if after_go_live < 0 else plan.support_hours
            rate = _rate_on(plan.forecast_rates, month)
            row.labour = row.hours * (rate if rate is not None else blended or 0.0)
        for cost in plan.costs:
            first, last = month_start(cost.starts), month_start(cost.ends) if cost.ends else None
            if cost.recurring and first <= month and (last is None or month <= last):
                row.recurring += cost.amount
            elif not cost.recurring and first == month:
                row.one_off += cost.amount
        row.infrastructure, row.api = _run_costs(plan.run, scenario.volume * share, after_go_live >= 0)
        for rule in plan.rules:
            if after_go_live < 0:
                row.kpi_basis[rule.key] = "before go-live"
                row.benefit_by_rule[rule.key] = 0.0
                continue
            value, basis = _kpi_value(rule, month, current, scenario.outlook)
            row.kpi_basis[rule.key] = basis
            row.benefit_by_rule[rule.key] = _benefit(rule, value, scenario, share) if value is not None else 0.0
        cumulative_investment += row.investment
        cumulative_benefit += row.benefit
        row.cumulative_investment, row.cumulative_benefit = cumulative_investment, cumulative_benefit
        months.append(row)
    return _summarise(plan, scenario, months)


def npv(flows: Sequence[float], annual_rate: float) -> float:
    monthly = (1 + annual_rate) ** (1 / 12) - 1
    return sum(flow / (1 + monthly) ** (i + 1) for i, flow in enumerate(flows))


def payback(months: Sequence[MonthResult]) -> tuple[float | None, dt.date | None]:
    """Months until cumulative benefit reaches cumulative investment for good, and the month that happens in."""
    if not months or months[-1].cumulative_investment <= 0:
        return None, None
    below = [i for i, m in enumerate(months) if m.cumulative_net < 0]
    if not below:
        return 0.0, months[0].month
    i = below[-1] + 1
    if i >= len(months):
        return None, None
    shortfall, gain = -months[i - 1].cumulative_net, months[i].net
    return i + shortfall / gain, months[i].month


def _summarise(plan: Plan, scenario: Scenario, months: list[MonthResult]) -> RoiResult:
    total_investment = sum(m.investment for m in months)
    total_benefit = sum(m.benefit for m in months)
    months_to_payback, payback_month = payback(months)
    benefit_by_rule = {rule.key: sum(m.benefit_by_rule.get(rule.key, 0.0) for m in months) for rule in plan.rules}
    return RoiResult(
        months=months,
        total_investment=total_investment,
        total_benefit=total_benefit,
        roi_percent=(total_benefit - total_investment) / total_investment * 100 if total_investment else None,
        npv=npv([m.net for m in months], scenario.discount_rate),
        payback_months=months_to_payback,
        payback_month=payback_month,
        investment_by_line={line: sum(getattr(m, line) for m in months) for line in INVESTMENT_LINES},
        benefit_by_rule=benefit_by_rule,
        warnings=_warnings(plan, months),
    )
