from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.costs import engagement_cost, fleet_figures
from deployments.models import Deployment, HardwareType, ModelCall, ServerSample
from deployments.services import deployment_save
from engagements.metrics import get_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(engagement):
    deployment = deployment_save(
        name="Claims model", base_url="http://gpu:8000/v1", served_model_name="m", engagement=engagement,
        hardware=HardwareType.objects.get(name="A100 80 GB"), hardware_count=2,
    )  # fmt: skip
    Deployment.objects.filter(pk=deployment.pk).update(created_at=timezone.now() - timedelta(days=2))
    deployment.refresh_from_db()
    return deployment


def _calls(deployment, engagement, n, at):
    for _ in range(n):
        ModelCall.objects.create(
            deployment=deployment, engagement=engagement, caller="rag.ask", prompt_tokens=1000,
            completion_tokens=250, ttft_ms=200, total_ms=1200, gap_mean_ms=4.0, created_at=at,
        )  # fmt: skip


def test_cost_per_token_splits_the_hardware_by_prompt_and_generation_time(priced, engagement):
    end = timezone.now()
    start = end - timedelta(hours=24)
    _calls(priced, engagement, 3, end - timedelta(hours=2))
    _calls(priced, None, 1, end - timedelta(hours=2))
    f = fleet_figures(deployments=[priced], start=start, end=end)[priced.pk]
    # 2 x $5.068 an hour for 24 hours
    assert f.hourly_usd == pytest.approx(10.136) and f.hardware_usd == pytest.approx(243.264)
    # 4 calls: 0.2 s of prefill and 1.0 s of decode each -> a sixth of the busy time went to prompts
    assert f.prefill_share == pytest.approx(1 / 6)
    assert (f.input_tokens, f.output_tokens) == (4000, 1000)
    assert f.usd_per_1m_input == pytest.approx(243.264 / 6 / 4000 * 1e6)
    assert f.usd_per_1m_output == pytest.approx(243.264 * 5 / 6 / 1000 * 1e6)
    assert f.monthly_usd == pytest.approx(10.136 * 730)
    assert f.monthly_output_tokens == pytest.approx(1000 / 24 * 730)
    # busiest hour: 1,000 output tokens -> 0.278 tokens/s; $10.136 buys 1,000 output tokens that hour
    assert f.peak_tps == pytest.approx(1000 / 3600)
    assert f.capacity_usd_per_1m_output == pytest.approx(10.136 / 1000 * 1e6)
    assert f.ms_per_token == 4.0 and "gateway log" in f.ms_per_token_source
    assert "gateway log, 4 calls" in f.token_source


def test_the_engagement_pays_for_its_own_tokens_at_the_deployments_rates(priced, engagement):
    end = timezone.now()
    _calls(priced, engagement, 3, end - timedelta(hours=2))
    _calls(priced, None, 1, end - timedelta(hours=2))
    row = engagement_cost(engagement=engagement, start=end - timedelta(hours=24), end=end)
    usd_in, usd_out = 243.264 / 6 / 4000, 243.264 * 5 / 6 / 1000  # per token
    assert row.usd == pytest.approx(3000 * usd_in + 750 * usd_out)
    assert row.usd_per_1m_tokens == pytest.approx((3000 * usd_in + 750 * usd_out) / 3750 * 1e6)
    assert row.monthly_usd == pytest.approx(row.usd / 24 * 730)
    result = get_provider("deployments.cost_per_1m_tokens").compute(engagement, {"days": 1})
    assert result.value == pytest.approx(row.usd_per_1m_tokens, rel=1e-3)


def test_server_counters_win_over_the_log_when_the_server_is_scraped(priced):
    end = timezone.now()
    for minutes, prompt, generation, prefill, decode in ((90, 1000, 100, 1.0, 10.0), (30, 5000, 2100, 3.0, 40.0)):
        ServerSample.objects.create(
            deployment=priced, scraped_at=end - timedelta(minutes=minutes), prompt_tokens_total=prompt,
            generation_tokens_total=generation, prefill_seconds_total=prefill, decode_seconds_total=decode,
            requests_total=0,
        )  # fmt: skip
    f = fleet_figures(deployments=[priced], start=end - timedelta(hours=24), end=end)[priced.pk]
    assert (f.input_tokens, f.output_tokens) == (4000, 2000)
    assert f.prefill_share == pytest.approx(2 / 32)
    assert f.token_source.startswith("vLLM counters")
    assert f.peak_tps == pytest.approx(2000 / 3600)


def test_no_hardware_means_no_price_rather_than_zero(engagement):
    free = deployment_save(name="Hosted", base_url="http://x:8000/v1", served_model_name="m")
    _calls(free, engagement, 2, timezone.now() - timedelta(hours=1))
    f = fleet_figures(deployments=[free], start=timezone.now() - timedelta(hours=24))[free.pk]
    assert f.hardware_usd is None and f.usd_per_1m_output is None and f.monthly_usd is None
