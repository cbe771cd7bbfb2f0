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
