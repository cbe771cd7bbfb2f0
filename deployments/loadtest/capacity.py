"""What a deployment costs at its SLA and how many replicas a forecast needs, from its load-test results.

- **Capacity at the SLA**: the level of a run that held the SLA with the most goodput; one replica serves that many
  output tokens per second while every request meets its targets.
- **$ per 1M output tokens at the SLA** = hourly cost of the hardware ÷ (goodput output tokens/s × 3600) × 1e6.
- **Capacity plan**: the forecast peak (peak requests/s grown by the monthly growth over the horizon) times the output
  tokens per request is the output token rate to serve; replicas = that ÷ one replica's goodput output tokens/s,
  rounded up; devices = replicas × the deployment's devices; monthly cost = replicas × hourly cost × 730 hours.
- **API versus dedicated**: a month's requests = peak ÷ peak-to-average × 3600 × 730. An API charges
  a = (input tokens × input price + output tokens × output price) ÷ 1e6 per request; a dedicated replica costs
  R = hourly × 730 a month and carries C requests a month at the SLA. Dedicated is cheaper from R ÷ a requests a
  month on, provided one replica carries that much (R ÷ a ≤ C); otherwise the API stays cheaper at any traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from deployments.loadtest.selectors import LevelStats, best_under_sla, latest_run_with_results, level_stats
from deployments.models import CapacityPlan, Deployment, LoadTest

HOURS_PER_MONTH = 730.0


def hourly_usd(deployment: Deployment) -> float | None:
    """The hardware's price per hour for one replica (all its devices), or None without hardware."""
    if deployment.hardware is None:
        return None
    return float(deployment.hardware.hourly_price_usd) * deployment.hardware_count


def usd_per_1m_output(*, hourly: float, output_tps: float) -> float | None:
    if output_tps <= 0:
        return None
    return hourly / (output_tps * 3600) * 1e6


@dataclass(frozen=True)
class AtSla:
    """One replica's capacity at the SLA, from one level of one run."""

    run: LoadTest
    level: LevelStats
    hourly: float | None

    @property
    def output_tps(self) -> float:
        return self.level.goodput_output_tps or 0.0

    @property
    def usd_per_1m_output(self) -> float | None:
        return None if self.hourly is None else usd_per_1m_output(hourly=self.hourly, output_tps=self.output_tps)


def capacity_at_sla(*, deployment: Deployment, run: LoadTest | None = None) -> AtSla | None:
    """The deployment's capacity at the SLA from ``run`` or its latest run with results; None if no level held."""
    run = run or latest_run_with_results(deployment=deployment)
    if run is None:
        return None
    best = best_under_sla(level_stats(run=run))
    return None if best is None else AtSla(run=run, level=best, hourly=hourly_usd(deployment))


@dataclass(frozen=True)
class Forecast:
    peak_rps: float
    input_tokens: float
    output_tokens: float
    growth_pct_per_month: float = 0.0
    horizon_months: int = 0
    peak_to_average: float = 3.0

    @property
    def peak_at_horizon(self) -> float:
        return self.peak_rps * (1 + self.growth_pct_per_month / 100) ** self.horizon_months

    def monthly_requests(self, peak_rps: float | None = None) -> float:
        return (
            (peak_rps if peak_rps is not None else self.peak_at_horizon) / self.peak_to_average * 3600 * HOURS_PER_MONTH
        )


@dataclass(frozen=True)
class Plan:
    forecast: Forecast
    replica_output_tps: float
    devices_per_replica: int
    hourly: float | None
    budget: float | None = None

    @property
    def demand_output_tps(self) -> float:
        return self.forecast.peak_at_horizon * self.forecast.output_tokens

    @property
    def replicas(self) -> int:
        return max(1, math.ceil(self.demand_output_tps / self.replica_output_tps - 1e-9))

    @property
    def devices(self) -> int:
        return self.replicas * self.devices_per_replica

    @property
    def monthly_usd(self) -> float | None:
        return None if self.hourly is None else self.replicas * self.hourly * HOURS_PER_MONTH

    @property
    def fits_budget(self) -> bool | None:
        if self.budget is None or self.monthly_usd is None:
            return None
        return self.monthly_usd <= self.budget

    @property
    def replica_monthly_requests(self) -> float:
        """Requests a month one replica carries at the SLA, at the forecast's tokens per request and peak ratio."""
        peak_rps = self.replica_output_tps / self.forecast.output_tokens
        return self.forecast.monthly_requests(peak_rps)

    def dedicated_monthly_usd(self, monthly_requests: float) -> float | None:
        if self.hourly is None:
            return None
        replicas = max(1, math.ceil(monthly_requests / self.replica_monthly_requests - 1e-9))
        return replicas * self.hourly * HOURS_PER_MONTH


def api_usd_per_request(*, forecast: Forecast, input_per_1m: float, output_per_1m: float) -> float:
    return (forecast.input_tokens * input_per_1m + forecast.output_tokens * output_per_1m) / 1e6


def crossover_requests(*, plan: Plan, api_per_request: float) -> float | None:
    """Monthly requests from which the dedicated deployment is cheaper than the API; None if it never is."""
    if plan.hourly is None or api_per_request <= 0:
        return None
    threshold = plan.hourly * HOURS_PER_MONTH / api_per_request
    return threshold if threshold <= plan.replica_monthly_requests else None


def plan_for(capacity_plan: CapacityPlan) -> tuple[Plan | None, AtSla | None]:
    """The plan a ``CapacityPlan`` row gives with its deployment's capacity at the SLA (None without a result)."""
    at_sla = capacity_at_sla(deployment=capacity_plan.deployment)
    if at_sla is None or at_sla.output_tps <= 0:
        return None, at_sla
    return (
        Plan(
            forecast=forecast_of(capacity_plan),
            replica_output_tps=at_sla.output_tps,
            devices_per_replica=capacity_plan.deployment.hardware_count,
            hourly=at_sla.hourly,
            budget=float(capacity_plan.monthly_budget_usd) if capacity_plan.monthly_budget_usd is not None else None,
        ),
        at_sla,
    )


def forecast_of(capacity_plan: Any) -> Forecast:
    return Forecast(
        peak_rps=float(capacity_plan.peak_rps),
        input_tokens=float(capacity_plan.input_tokens),
        output_tokens=float(capacity_plan.output_tokens),
        growth_pct_per_month=float(capacity_plan.growth_pct_per_month),
        horizon_months=capacity_plan.horizon_months,
        peak_to_average=float(capacity_plan.peak_to_average),
    )
