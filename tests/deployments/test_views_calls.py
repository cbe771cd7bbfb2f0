from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client as HttpClient
from django.utils import timezone

from deployments.models import Deployment, ModelCall
from deployments.selectors import model_call_stats
from deployments.services import deployment_save


def _deployment_with_calls(db: Any) -> Deployment:
    deployment = deployment_save(name="GPU", base_url="http://gpu:8000/v1", served_model_name="m")
    for i, ttft in enumerate([100.0, 200.0, 300.0, 400.0]):
        ModelCall.objects.create(
            deployment=deployment,
            caller="rag.ask",
            prompt_tokens=10,
            completion_tokens=5,
            ttft_ms=ttft,
            total_ms=ttft * 2,
            gap_count=4,
            gap_p50_ms=10.0 + i,
        )
    ModelCall.objects.create(deployment=deployment, caller="rag.eval", status="unreachable", total_ms=3.0, error="down")
    old = ModelCall.objects.create(deployment=deployment, caller="rag.ask", ttft_ms=9000, total_ms=9000)
    ModelCall.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    return deployment


def test_call_stats_aggregate_the_last_day_in_the_database(db: Any) -> None:
    deployment = _deployment_with_calls(db)

    stats = model_call_stats(deployment=deployment, since=timezone.now() - timedelta(hours=24))

    assert (stats["calls"], stats["errors"]) == (5, 1)
    assert stats["ttft_p50"] == 250.0  # interpolated between 200 and 300
    assert stats["ttft_p95"] == 385.0  # 300 + 0.85 * (400 - 300)
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (40, 20)


def test_the_deployment_page_shows_its_calls_to_providers_only(
    fde_http: HttpClient, member_http: HttpClient, outsider_http: HttpClient, db: Any
) -> None:
    deployment = _deployment_with_calls(db)

    html = fde_http.get(f"/deployments/{deployment.uuid}/").content.decode()

    assert 'id="calls"' in html and "rag.eval" in html and "Unreachable" in html
    assert 'class="plotly-chart"' in html
    for http in (member_http, outsider_http):
        assert http.get(f"/deployments/{deployment.uuid}/").status_code == 404
