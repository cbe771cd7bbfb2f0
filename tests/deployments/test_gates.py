from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import ModelCall
from deployments.services import deployment_save
from engagements.metrics import get_provider

pytestmark = pytest.mark.django_db


def _call(deployment, engagement, ttft_ms, *, status=ModelCall.Status.OK, age_days=0):
    return ModelCall.objects.create(
        deployment=deployment,
        engagement=engagement,
        caller="rag.ask",
        status=status,
        ttft_ms=ttft_ms,
        total_ms=ttft_ms + 500,
        created_at=timezone.now() - timedelta(days=age_days),
    )


def test_p95_ttft_is_computed_from_the_engagements_recent_successful_calls(engagement, other_client_org, fde):
    from engagements.services import engagement_create

    deployment = deployment_save(name="Model", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    for ms in range(100, 2100, 100):  # 100 .. 2000 ms, twenty calls
        _call(deployment, engagement, ms)
    _call(deployment, engagement, 90_000, status=ModelCall.Status.ERROR)  # failures do not count
    _call(deployment, engagement, 90_000, age_days=30)  # nor do old calls
    other = engagement_create(client=other_client_org, name="Elsewhere", lead=fde)
    _call(deployment, other, 90_000)  # nor another engagement's calls

    result = get_provider("deployments.p95_ttft").compute(engagement, {})
    # percentile_cont(0.95) over 100..2000 step 100: position 0.95 * 19 = 18.05 -> 1900 + 0.05 * 100 = 1905 ms
    assert result.value == pytest.approx(1.905)
    assert "20 calls" in result.detail


def test_p95_ttft_without_calls_is_no_evidence(engagement):
    result = get_provider("deployments.p95_ttft").compute(engagement, {"days": 3})
    assert result.value is None
    assert "3 days" in result.detail


def test_healthy_is_one_when_every_deployment_of_the_engagement_answers(engagement, stand_in):
    from deployments.services import deployment_check_health

    stand_in.serve_models("m")
    up = deployment_save(name="Up", base_url=f"{stand_in.url}/v1", served_model_name="m", engagement=engagement)
    provider = get_provider("deployments.healthy")
    assert provider.compute(engagement, {}).value == 0.0  # not checked yet is not healthy
    deployment_check_health(deployment=up)
    assert provider.compute(engagement, {}).value == 1.0
    down = deployment_save(name="Down", base_url="http://127.0.0.1:9/v1", served_model_name="m", engagement=engagement)
    deployment_check_health(deployment=down)
    result = provider.compute(engagement, {})
    assert result.value == 0.0 and "Down" in result.detail
    assert provider.compute(engagement, {"deployment": "Up"}).value == 1.0


def test_sla_met_hours_is_the_share_of_hours_with_traffic_that_met_it(engagement):
    deployment = deployment_save(
        name="Model", base_url="http://127.0.0.1:9/v1", served_model_name="m", engagement=engagement,
        sla_ttft_p95_ms=500,
    )  # fmt: skip
    for hours_ago, ttft in ((1, 100), (2, 100), (3, 100), (5, 900)):
        for _ in range(3):
            _call(deployment, engagement, ttft, age_days=hours_ago / 24)
    result = get_provider("deployments.sla_met_hours").compute(engagement, {"hours": 24})
    assert result.value == 0.75
    assert "3 of 4 hours" in result.detail and "900.0 ms" in result.detail


def test_sla_met_hours_without_an_sla_is_no_evidence(engagement):
    deployment_save(name="Model", base_url="http://127.0.0.1:9/v1", served_model_name="m", engagement=engagement)
    assert get_provider("deployments.sla_met_hours").compute(engagement, {}).value is None
