from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engagements.models import Engagement, GateCriterion, KpiMeasurement
from engagements.services import engagement_refresh_evidence, kpi_create, time_entry_create
from engagements.tasks import refresh_all_evidence
from tests.fixtures_services import wait_for


def _effort_kpi(engagement: Engagement, fde) -> None:
    kpi_create(engagement=engagement, actor=fde, name="FDE hours", unit="h", provider_key="engagements.effort_hours")
    time_entry_create(engagement=engagement, actor=fde, date=dt.date(2026, 9, 1), hours=Decimal("6"))


def test_refresh_evidence_evaluates_the_gate_and_measures_provider_kpis(engagement: Engagement, fde) -> None:
    _effort_kpi(engagement, fde)
    summary = engagement_refresh_evidence(engagement=engagement)
    assert summary == {"criteria": 5, "met": 0, "kpis_measured": 1}
    assert KpiMeasurement.objects.get().value == 6.0
    engagement_refresh_evidence(engagement=engagement)
    assert KpiMeasurement.objects.count() == 1  # same day: updated, not duplicated


@pytest.mark.celery_worker
def test_the_worker_refreshes_every_active_engagement(celery_worker, engagement: Engagement, fde) -> None:
    _effort_kpi(engagement, fde)
    refresh_all_evidence.delay()
    wait_for(
        lambda: (
            KpiMeasurement.objects.filter(kpi__engagement=engagement).exists()
            and not GateCriterion.objects.filter(
                engagement=engagement, phase="discover", last_evaluated_at=None
            ).exists()
        ),
        timeout=60,
        message="the worker to refresh the engagement's evidence",
    )
