from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from deployments.models import Deployment, ModelCall
from deployments.services import deployment_save
from portal.selectors import sla_in_words

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployment(engagement) -> Deployment:
    made = deployment_save(
        name="Claims GPU", base_url="http://10.0.0.9:8000/v1", served_model_name="m", engagement=engagement
    )
    Deployment.objects.filter(pk=made.pk).update(sla_ttft_p95_ms=1200, sla_max_error_rate=1)
    made.refresh_from_db()
    return made


def _calls(deployment, ttfts, *, status="ok", age=dt.timedelta(hours=1)):
    when = timezone.now() - age
    ModelCall.objects.bulk_create(
        ModelCall(
            deployment=deployment, caller="rag.ask", status=status, ttft_ms=t, total_ms=(t or 0) + 500, created_at=when
        )
        for t in ttfts
    )


def test_the_sla_is_said_as_the_share_of_requests_within_target(deployment):
    _calls(deployment, [800.0] * 24 + [1500.0])  # 24 of 25 within 1.2 s
    _calls(deployment, [None], status="error")
    _calls(deployment, [9000.0] * 50, age=dt.timedelta(days=8))  # last week's calls do not count
    line = sla_in_words(deployment=deployment)
    assert line.sentences[0] == "Answers started within 1.2 s for 96% of requests this week; target 95%."
    assert line.sentences[1] == "96.2% of 26 requests succeeded this week; target 99%."


def test_a_deployment_without_calls_says_so(deployment):
    assert sla_in_words(deployment=deployment).sentences == ["No requests this week yet."]


def test_the_portal_page_shows_the_sla_sentence(member_http, engagement, deployment):
    _calls(deployment, [300.0] * 10)
    body = member_http.get(f"/portal/engagements/{engagement.uuid}/").content.decode()
    assert "Answers started within 1.2 s for 100% of requests this week; target 95%." in body
