from __future__ import annotations

import datetime as dt

import pytest

from engagements.roi import calc

JAN, FEB, MAR, APR, MAY, JUN = (dt.date(2026, m, 1) for m in range(1, 7))


def _time_rule(**overrides: object) -> calc.Rule:
    fields: dict = {
        "key": "time",
        "kpi": "Handling time",
        "tier": "operational",
        "kind": "hours_saved",
        "higher_is_better": False,
        "baseline": 10.0,
        "target": 4.0,
        "unit_value": 60.0,
        "factor": 1 / 60,
        "per_volume": True,
        # Feb is before go-live; Mar has two measurements (mean 7); Apr has none.
        "monthly_values": {FEB: 9.0, MAR: 7.0},
    }
    return calc.Rule(**(fields | overrides))


def _plan(**overrides: object) -> calc.Plan:
    fields: dict = {
        "start": JAN,
        "go_live": dt.date(2026, 3, 10),
        "horizon": 6,
        "today": dt.date(2026, 4, 15),
        "labour": {JAN: calc.LabourMonth(10, 1000), FEB: calc.LabourMonth(20, 2000), MAR: calc.LabourMonth(5, 500)},
        "build_hours": 50,
        "support_hours": 4,
        "forecast_rates": [(dt.date(2026, 1, 1), 100.0)],
        "costs": [
            calc.Cost("Integration", 3000, dt.date(2026, 2, 10)),
            calc.Cost("Licence", 200, dt.date(2026, 3, 1), dt.date(2026, 5, 31), recurring=True),
        ],
        "rules": [_time_rule()],
        "run": calc.RunCosts(
            infra_basis="hours", infra_hourly=2.0, infra_hours=100, tokens_in_per_unit=1000, api_price_in=10.0
        ),
    }
    return calc.Plan(**(fields | overrides))


SCENARIO = calc.Scenario(volume=1000, adoption_start=0.5, adoption_target=1.0, ramp_months=2, discount_rate=0.0)


def test_hand_computed_case_month_by_month() -> None:
    result = calc.compute(_plan(), SCENARIO)
    rows = {m.month: m for m in result.months}
    assert [m.month for m in result.months] == [JAN, FEB, MAR, APR, MAY, JUN]
    assert [m.adoption for m in result.months] == [0, 0, 0.5, 0.75, 1.0, 1.0]
    assert [m.forecast for m in result.months] == [False, False, False, False, True, True]
    # recorded labour up to April (nothing logged in April), then 4 support hours at the default rate of 100
    assert [m.labour for m in result.months] == [1000, 2000, 500, 0, 400, 400]
    assert rows[FEB].one_off == 3000 and rows[JAN].one_off == 0
    assert [m.recurring for m in result.months] == [0, 0, 200, 200, 200, 0]
    assert [m.infrastructure for m in result.months] == [0, 0, 200, 200, 200, 200]
    # 1000 units × adoption × 1000 tokens = adoption × 1M tokens, at 10 per million
    assert [m.api for m in result.months] == pytest.approx([0, 0, 5, 7.5, 10, 10])
    assert [m.investment for m in result.months] == pytest.approx([1000, 5000, 905, 407.5, 810, 610])
    # 3 minutes saved per unit = 1/20 h × 60 per hour = 3 per unit, × 1000 units × adoption
    assert [m.benefit for m in result.months] == pytest.approx([0, 0, 1500, 2250, 3000, 3000])
    assert [m.kpi_basis["time"] for m in result.months] == [
        "before go-live",
        "before go-live",
        "measured",
        "carried",
        "latest",
        "latest",
    ]


def test_hand_computed_case_totals_roi_payback_and_npv() -> None:
    result = calc.compute(_plan(), SCENARIO)
    assert result.total_investment == pytest.approx(8732.5)
    assert result.total_benefit == pytest.approx(9750)
    assert result.roi_percent == pytest.approx(1017.5 / 8732.5 * 100)
    # cumulative net: -1000, -6000, -5405, -3562.5, -1372.5, +1017.5 → paid back in June, 1372.5/2390 into it
    assert result.payback_month == JUN
    assert result.payback_months == pytest.approx(5 + 1372.5 / 2390)
    assert result.npv == pytest.approx(1017.5)  # a discount rate of 0 leaves the flows as they are
    assert result.investment_by_line == pytest.approx(
        {"labour": 4300, "one_off": 3000, "recurring": 600, "infrastructure": 800, "api": 32.5}
    )
    assert result.benefit_by_rule == pytest.approx({"time": 9750})


def test_a_month_with_no_measurements_keeps_the_previous_months_value() -> None:
    result = calc.compute(_plan(horizon=4), SCENARIO)
    april = result.months[3]
    assert april.kpi_basis["time"] == "carried"
    assert april.benefit == pytest.approx(3 * 1000 * 0.75)


def test_months_before_the_first_measurement_count_no_benefit() -> None:
    rule = _time_rule(monthly_values={APR: 7.0})
    result = calc.compute(_plan(rules=[rule]), SCENARIO)
    assert result.months[2].kpi_basis["time"] == "none" and result.months[2].benefit == 0
    assert result.months[3].benefit == pytest.approx(2250)


def test_negative_roi_never_pays_back() -> None:
    plan = _plan(labour={JAN: calc.LabourMonth(100, 10_000)}, costs=[], rules=[_time_rule(baseline=7.5)])
    result = calc.compute(plan, SCENARIO)
    # improvement 0.5 min per unit: 250 in March, 375 carried into April, 500 in May and June
    assert result.total_benefit == pytest.approx(1625)
    assert result.total_investment == pytest.approx(10_000 + 800 + 800 + 32.5)
    assert result.roi_percent == pytest.approx((1625 - 11_632.5) / 11_632.5 * 100)
    assert result.roi_percent is not None and result.roi_percent < 0
    assert result.payback_months is None and result.payback_month is None
    assert result.npv == pytest.approx(1625 - 11_632.5)


def test_a_kpi_that_got_worse_gives_a_negative_benefit() -> None:
    result = calc.compute(_plan(rules=[_time_rule(monthly_values={MAR: 12.0})]), SCENARIO)
    assert result.months[2].benefit == pytest.approx(-2 * 1000 * 0.5)


def test_npv_discounts_each_month_like_a_spreadsheet() -> None:
    one_percent_a_month = 1.01**12 - 1
    assert calc.npv([-100, 60, 60], one_percent_a_month) == pytest.approx(-100 / 1.01 + 60 / 1.01**2 + 60 / 1.01**3)
    assert calc.npv([-100, 60, 60], one_percent_a_month) == pytest.approx(18.0433, abs=1e-4)


def test_target_outlook_values_forecast_months_at_the_target() -> None:
    result = calc.compute(_plan(), calc.Scenario(**{**SCENARIO.__dict__, "outlook": "target"}))
    assert result.months[4].kpi_basis["time"] == "target"
    assert result.months[4].benefit == pytest.approx(6 * 1000)  # 10 → 4 minutes
    assert result.months[3].kpi_basis["time"] == "carried"  # recorded months never use the outlook


def test_percentage_rule_per_month_total_rule_and_valuation_rate() -> None:
    accuracy = calc.Rule(
        key="acc",
        kpi="Accuracy",
        tier="business",
        kind="error_cost_avoided",
        higher_is_better=True,
        baseline=80.0,
        target=95.0,
        unit_value=5.0,
        factor=0.01,
        monthly_values={MAR: 90.0},
    )
    escalations = calc.Rule(
        key="esc",
        kpi="Escalations per month",
        tier="business",
        kind="cost_avoided",
        higher_is_better=False,
        baseline=40.0,
        target=10.0,
        unit_value=100.0,
        per_volume=False,
        monthly_values={MAR: 30.0},
    )
    scenario = calc.Scenario(**{**SCENARIO.__dict__, "value_rate": 0.5})
    march = calc.compute(_plan(rules=[accuracy, escalations]), scenario).months[2]
    # 10 points × 1% × 1000 units × 50% adoption × 5 per error × 50% rate; escalations ignore volume and adoption
    assert march.benefit_by_rule["acc"] == pytest.approx(10 * 0.01 * 1000 * 0.5 * 5 * 0.5)
    assert march.benefit_by_rule["esc"] == pytest.approx(10 * 100 * 0.5)


def test_forecast_hours_use_the_blended_rate_without_a_default_rate() -> None:
    plan = _plan(forecast_rates=[], labour={JAN: calc.LabourMonth(10, 1500, unpriced_hours=5)})
    result = calc.compute(plan, SCENARIO)
    assert result.months[4].labour == pytest.approx(4 * 1500 / 5)
    assert any("5 h of logged time have no rate" in w for w in result.warnings)


def test_build_hours_before_go_live_and_a_later_rate_in_force() -> None:
    plan = _plan(today=dt.date(2026, 1, 20), forecast_rates=[(JAN, 100.0), (dt.date(2026, 2, 15), 120.0)])
    result = calc.compute(plan, SCENARIO)
    assert result.months[1].hours == 50 and result.months[1].labour == pytest.approx(50 * 120)
    assert result.months[2].hours == 4


def test_payback_counts_only_when_it_holds_to_the_horizon() -> None:
    months = []
    cumulative = 0.0
    for i, net in enumerate([-100, 150, -100, 100]):
        cumulative += net
        row = calc.MonthResult(month=calc.add_months(JAN, i), forecast=False, adoption=1)
        row.one_off = max(-net, 0)
        row.benefit_by_rule = {"x": max(net, 0)}
        row.cumulative_investment = sum(max(-n, 0) for n in [-100, 150, -100, 100][: i + 1])
        row.cumulative_benefit = row.cumulative_investment + cumulative
        months.append(row)
    # cumulative net: -100, 50, -50, 50 → the second crossing counts, half-way through month 4
    assert calc.payback(months) == (pytest.approx(3.5), APR)


def test_no_investment_means_no_roi_or_payback() -> None:
    result = calc.compute(calc.Plan(start=JAN, go_live=JAN, horizon=3, today=JAN), SCENARIO)
    assert result.roi_percent is None and result.payback_months is None
    assert any("No valuation rules" in w for w in result.warnings)


def test_calendar_helpers() -> None:
    assert calc.add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert calc.months_between(dt.date(2026, 11, 1), dt.date(2027, 2, 1)) == 3
    assert calc.adoption(SCENARIO, -1) == 0 and calc.adoption(SCENARIO, 5) == 1.0


def test_go_live_after_the_horizon_is_said_plainly() -> None:
    result = calc.compute(_plan(go_live=dt.date(2026, 9, 1)), SCENARIO)
    assert result.total_benefit == 0
    assert result.warnings == [
        "Go-live falls after the last month counted, so no benefit is counted; move it or extend."
    ]
