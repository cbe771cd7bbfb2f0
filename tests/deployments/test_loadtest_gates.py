from __future__ import annotations

import json
from typing import Any

import pytest

from deployments.loadtest.gates import cost_per_1m_at_sla, goodput_at_sla, p95_ttft_at_target_load, plan_fits_budget
from deployments.loadtest.imports import loadtest_import
from deployments.loadtest.services import capacity_plan_save
from deployments.models import Deployment, HardwareType
from deployments.services import deployment_save
from engagements.metrics import get_provider
from tests.deployments.test_loadtest_views import VLLM_BENCH


@pytest.fixture
def deployment(engagement: Any, fde: Any) -> Deployment:
    d = deployment_save(
        name="Claims GPU", base_url="http://10.9.8.7:9/v1", served_model_name="m", engagement=engagement,
        hardware=HardwareType.objects.get(name="L4 24 GB"), sla_ttft_p95_ms=500,
    )  # fmt: skip
    loadtest_import(deployment=d, actor=fde, filename="v.json", content=json.dumps(VLLM_BENCH).encode())
    return d


def test_the_gate_providers_are_registered() -> None:
    for key in ("loadtest.p95_ttft_at_target_load", "loadtest.goodput_at_sla", "loadtest.cost_per_1m_at_sla",
                "loadtest.plan_fits_budget"):  # fmt: skip
        assert get_provider(key) is not None


def test_goodput_and_cost_at_the_sla_from_the_latest_run(deployment: Deployment, engagement: Any) -> None:
    # Two requests met the SLA; the level spans 0.3 s (the failed one starts then): 2 / 0.3 req/s, 8 / 0.3 tok/s.
    goodput = goodput_at_sla(engagement, {})
    assert goodput.value == pytest.approx(2 / 0.3, rel=1e-3)
    cost = cost_per_1m_at_sla(engagement, {})
    assert cost.value == pytest.approx(0.805 / (8 / 0.3 * 3600) * 1e6, rel=1e-3)


def test_p95_ttft_at_the_target_load_and_the_budget(deployment: Deployment, engagement: Any, fde: Any) -> None:
    assert p95_ttft_at_target_load(engagement, {"target_rps": 100}).value is None
    assert p95_ttft_at_target_load(engagement, {"target_rps": 1}).value == pytest.approx(0.119, abs=1e-3)
    assert plan_fits_budget(engagement, {}).value is None
    # 10 req/s x 4 tokens = 40 tok/s over 26.7 per replica: 2 replicas x $0.805 x 730 = $1175.3 a month.
    capacity_plan_save(deployment=deployment, actor=fde, peak_rps=10, input_tokens=16, output_tokens=4,
                       monthly_budget_usd=1200)  # fmt: skip
    assert plan_fits_budget(engagement, {}).value == 1.0
    capacity_plan_save(deployment=deployment, actor=fde, peak_rps=10, input_tokens=16, output_tokens=4,
                       monthly_budget_usd=1000)  # fmt: skip
    assert plan_fits_budget(engagement, {}).value == 0.0
