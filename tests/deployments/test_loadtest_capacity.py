from __future__ import annotations

import pytest

from deployments.loadtest.capacity import (
    Forecast,
    Plan,
    api_usd_per_request,
    crossover_requests,
    usd_per_1m_output,
)


def test_cost_per_million_output_tokens_at_the_sla_is_hourly_cost_over_goodput_tokens() -> None:
    # $2/h at 500 tokens/s: 1.8M tokens an hour, so $1.111 per 1M.
    assert usd_per_1m_output(hourly=2.0, output_tps=500) == pytest.approx(1.1111, abs=1e-4)
    assert usd_per_1m_output(hourly=2.0, output_tps=0) is None


def test_a_plan_grows_the_peak_and_rounds_replicas_up() -> None:
    # 10 req/s growing 10% a month for 2 months is 12.1 req/s; x 200 tokens = 2420 tokens/s; 500 per replica -> 5.
    forecast = Forecast(peak_rps=10, input_tokens=1000, output_tokens=200, growth_pct_per_month=10, horizon_months=2)
    plan = Plan(forecast=forecast, replica_output_tps=500, devices_per_replica=2, hourly=4.0, budget=15000)
    assert forecast.peak_at_horizon == pytest.approx(12.1)
    assert plan.demand_output_tps == pytest.approx(2420)
    assert (plan.replicas, plan.devices) == (5, 10)
    assert plan.monthly_usd == pytest.approx(5 * 4.0 * 730)  # 14,600
    assert plan.fits_budget is True
    assert (
        Plan(forecast=forecast, replica_output_tps=500, devices_per_replica=2, hourly=4.0, budget=14000).fits_budget
        is False
    )


def test_an_exact_fit_needs_no_extra_replica() -> None:
    plan = Plan(forecast=Forecast(peak_rps=5, input_tokens=1, output_tokens=100), replica_output_tps=250,
                devices_per_replica=1, hourly=1.0)  # fmt: skip
    assert plan.replicas == 2


def test_the_crossover_is_where_the_api_bill_reaches_one_replicas_month() -> None:
    # API: 1000 input x $0.15 + 200 output x $0.60 per 1M = $0.00027 a request.
    forecast = Forecast(peak_rps=1, input_tokens=1000, output_tokens=200, peak_to_average=3)
    per_request = api_usd_per_request(forecast=forecast, input_per_1m=0.15, output_per_1m=0.60)
    assert per_request == pytest.approx(0.00027)
    # A replica at $1/h costs $730 a month; it carries 500/200 = 2.5 req/s peak, 2.5/3 x 3600 x 730 = 2.19M a month.
    plan = Plan(forecast=forecast, replica_output_tps=500, devices_per_replica=1, hourly=1.0)
    assert plan.replica_monthly_requests == pytest.approx(2_190_000)
    # $730 / $0.00027 = 2.7M requests a month: more than one replica carries, so the API stays cheaper.
    assert crossover_requests(plan=plan, api_per_request=per_request) is None
    # At $10 per 1M output tokens: $0.00215 a request; $730 / 0.00215 = 339,535 requests a month: dedicated wins.
    dearer = api_usd_per_request(forecast=forecast, input_per_1m=0.15, output_per_1m=10)
    assert crossover_requests(plan=plan, api_per_request=dearer) == pytest.approx(339_534.88, rel=1e-6)
    assert plan.dedicated_monthly_usd(339_535) == pytest.approx(730)
    assert plan.dedicated_monthly_usd(2_190_001) == pytest.approx(1460)
