from __future__ import annotations

import random

import pytest

from deployments.demo import DESK_APP, TRIAGE_APP, send_demo_traffic
from deployments.models import ClientApplication, GatewayKey, ModelCall
from deployments.seed import _seed_demo_applications
from tests.fixtures_services import wait_for

pytestmark = pytest.mark.vllm


def test_demo_traffic_calls_the_local_model_through_the_gateway_with_the_seeded_keys(
    gateway, engagement, fde, local_deployment, settings
):
    _seed_demo_applications(engagement=engagement, local=local_deployment, lead=fde)
    _seed_demo_applications(engagement=engagement, local=local_deployment, lead=fde)  # the seed runs again safely
    assert GatewayKey.objects.count() == 2
    settings.GATEWAY_URL = gateway.base_url

    assert send_demo_traffic(rng=random.Random(7)) == 2

    wait_for(lambda: ModelCall.objects.filter(status="ok").count() == 2, message="two logged demo calls")
    apps = set(ModelCall.objects.values_list("application__name", flat=True))
    assert apps == {DESK_APP, TRIAGE_APP}
    assert ClientApplication.objects.get(name=TRIAGE_APP).priority == "batch"


def test_demo_traffic_is_scheduled_by_beat_when_switched_on():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["deployments-demo-traffic"]
    assert entry["task"] == "deployments.demo_traffic" and entry["schedule"] == settings.DEMO_TRAFFIC_INTERVAL
