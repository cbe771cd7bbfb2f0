from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from deployments.models import HardwareType, ModelCall
from deployments.roi_prices import deployment_prices
from deployments.services import deployment_save
from engagements.roi.inputs import roi_bundle
from engagements.services.roi import roi_assumptions_update


@pytest.fixture
def served(engagement):
    l4 = HardwareType.objects.get(name="L4 24 GB")
    deployment = deployment_save(
        name="Claims model", base_url="http://gpu-1:8000/v1", served_model_name="m", engagement=engagement,
        hardware=l4, hardware_count=2,
    )  # fmt: skip
    for _ in range(3):
        ModelCall.objects.create(
            deployment=deployment, engagement=engagement, caller="rag.ask", total_ms=900, ttft_ms=100,
            prompt_tokens=400, completion_tokens=100,
        )  # fmt: skip
    return deployment, l4


def test_an_engagements_deployments_give_its_measured_hourly_price(engagement, served) -> None:
    deployment, l4 = served
    prices = deployment_prices([engagement.pk])
    assert prices[engagement.pk].hourly == pytest.approx(2 * float(l4.hourly_price_usd))
    assert deployment.name in prices[engagement.pk].detail


def test_engagements_without_deployments_get_no_measured_price(engagement) -> None:
    assert deployment_prices([engagement.pk]) == {}


def test_the_roi_uses_the_measured_hourly_price_of_its_deployments(engagement, fde, served) -> None:
    _, l4 = served
    roi_assumptions_update(
        engagement=engagement, actor=fde, start_month=dt.date(2026, 1, 1), go_live_month=dt.date(2026, 3, 1),
        horizon_months=12, infra_basis="hours", infra_hourly_price=Decimal("99"),
    )  # fmt: skip
    bundle = roi_bundle(engagement=engagement)
    assert bundle.plan.run.infra_hourly == pytest.approx(2 * float(l4.hourly_price_usd))
    assert any("Claims model" in note for note in bundle.infra_notes)
