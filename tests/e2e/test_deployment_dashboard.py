from __future__ import annotations

from typing import Any

import pytest

from deployments.catalogue import catalogue_seed
from deployments.gateway import chat_complete
from deployments.models import HardwareType, ModelCall
from deployments.scrape import server_metrics_scrape
from deployments.services import deployment_save
from tests.conftest import PASSWORD
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.vllm, pytest.mark.django_db(transaction=True)]


def test_an_fde_opens_a_deployments_dashboard_after_real_calls_and_sees_the_charts(
    page: Any, fde: Any, engagement: Any, vllm_server: dict[str, str]
) -> None:
    catalogue_seed(HardwareType)  # an earlier transactional test's flush removes what the migrations seeded
    deployment = deployment_save(
        name="Local model", base_url=vllm_server["base_url"], served_model_name=vllm_server["model"],
        engagement=engagement, hardware=HardwareType.objects.get(is_cpu=True), sla_ttft_p95_ms=2000,
    )  # fmt: skip
    server_metrics_scrape(deployment=deployment)
    for question in ("Say hello.", "Name a colour.", "Count to three."):
        chat_complete(deployment=deployment, messages=[("user", question)], caller="e2e.dashboard", max_tokens=12)
    server_metrics_scrape(deployment=deployment)
    assert ModelCall.objects.filter(deployment=deployment, status="ok").count() == 3

    login(page, fde.email, PASSWORD)
    page.goto(f"/deployments/{deployment.uuid}/?range=1h")
    page.wait_for_selector("#latency-chart .main-svg")
    page.wait_for_selector("#throughput-chart .main-svg")
    page.wait_for_selector("#server-chart .main-svg")
    legend = page.inner_text("#latency-chart")
    assert "p95" in legend and "Gateway log" in legend and "vLLM histograms" in legend
    assert page.locator("#latency-chart .scatterlayer .trace").count() >= 6
    assert "SLA p95 2,000 ms" in legend
    assert page.inner_text("#window-stats .stat-value >> nth=0").strip() == "3"

    page.click('a[data-range="24h"]')
    page.wait_for_selector("#dashboard:has-text('15-minute buckets')")
    page.wait_for_selector("#latency-chart .main-svg")
    assert "range=24h" in page.url
