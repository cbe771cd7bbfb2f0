from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import ModelCall, PromptPrefix
from deployments.prefix_advice import VARIABLE_FIRST, prefix_advice, read_prefix_cache_counters
from deployments.prompt_shape import LADDER, render_chat, shape_of
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db

INSTRUCTIONS = (
    "You are the assistant of a freight company and you answer questions from customers about their shipments, "
    "their invoices and their claims, always in two sentences, always politely, and never with a promise of money"
)
QUESTIONS = [f"Where is shipment number {n} going next week, and when will it arrive?" for n in range(8)]


@pytest.fixture
def deployment(db):
    return deployment_save(name="GPU", base_url="http://gpu-1:8000/v1", served_model_name="m")


def _log(deployment, caller: str, text: str, prompt_tokens: int | None = None) -> None:
    call = ModelCall.objects.create(deployment=deployment, caller=caller, total_ms=10, prompt_tokens=prompt_tokens)
    PromptPrefix.objects.create(
        call=call, deployment=deployment, created_at=call.created_at, **shape_of(text).as_fields()
    )


def _since():
    return timezone.now() - timedelta(hours=1)


def test_expected_hit_rate_matches_a_hand_count(deployment):
    same = " ".join("same" + chr(97 + i % 26) for i in range(40))  # 40 tokens: hashed at 16 and 32
    other = " ".join("other" + chr(97 + i % 26) for i in range(40))
    assert shape_of(same).tokens == 40
    for text in (same, same, other):
        _log(deployment, "t", text, prompt_tokens=50)

    advice = prefix_advice(deployment=deployment, since=_since())

    # only the second call finds an earlier call with the same first 32 tokens (the largest K it reaches)
    assert advice.cached_tokens == 32 and advice.tokens == 120
    assert advice.expected_hit_rate == pytest.approx(32 / 120)
    assert advice.tokens_per_piece == pytest.approx(150 / 120)
    (source,) = advice.sources
    assert [(level.k, level.reach, level.sharing) for level in source.levels] == [(16, 3, 2), (32, 3, 2)]


def test_fixed_instructions_first_share_a_long_prefix_and_get_no_warning(deployment):
    for question in QUESTIONS:
        _log(
            deployment,
            "bot",
            render_chat([{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": question}]),
        )

    (source,) = prefix_advice(deployment=deployment, since=_since()).sources

    assert source.warnings == []
    assert source.median_shared >= 48
    assert source.levels[0].share == 1.0
    assert source.differ_at.startswith("between token") or source.differ_at.startswith("not within")
    assert source.expected_hit_rate > 0.4


def test_variable_text_before_fixed_instructions_is_named(deployment):
    for question in QUESTIONS:
        _log(deployment, "mailer", render_chat([{"role": "user", "content": f"{question}\n\n{INSTRUCTIONS}."}]))
    for question in QUESTIONS[:3]:
        _log(
            deployment,
            "bot",
            render_chat([{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": question}]),
        )

    advice = prefix_advice(deployment=deployment, since=_since())
    mailer = next(s for s in advice.sources if s.name == "mailer")
    bot = next(s for s in advice.sources if s.name == "bot")

    assert [w["name"] for w in mailer.warnings] == [VARIABLE_FIRST]
    assert "Put the fixed instructions first" in mailer.warnings[0]["detail"]
    assert mailer.differ_at == f"within the first {LADDER[0]} tokens"
    assert mailer.expected_hit_rate < 0.1
    assert bot.warnings == []


def test_calls_outside_the_window_or_of_other_deployments_are_not_counted(deployment):
    other = deployment_save(name="Other", base_url="http://gpu-2:8000/v1", served_model_name="m")
    _log(other, "t", INSTRUCTIONS)
    _log(deployment, "t", INSTRUCTIONS)
    ModelCall.objects.filter(deployment=deployment).update(created_at=timezone.now() - timedelta(days=2))
    PromptPrefix.objects.filter(deployment=deployment).update(created_at=timezone.now() - timedelta(days=2))

    assert prefix_advice(deployment=deployment, since=_since()).calls == 0


@pytest.mark.vllm
def test_the_servers_prefix_cache_counters_are_read_from_its_metrics(local_deployment):
    measured = read_prefix_cache_counters(local_deployment)
    assert measured["ok"] and measured["queries"] >= measured["hits"] >= 0


def test_a_server_without_metrics_says_so(closed_port_deployment):
    measured = read_prefix_cache_counters(closed_port_deployment)
    assert not measured["ok"] and "did not answer" in measured["error"]


def test_the_page_under_the_deployment_shows_the_warning_to_fdes_only(deployment, fde_http, member_http, outsider_http):
    for question in QUESTIONS:
        _log(deployment, "mailer", render_chat([{"role": "user", "content": f"{question}\n\n{INSTRUCTIONS}."}]))

    html = fde_http.get(f"/deployments/{deployment.uuid}/prefix-cache/?hours=1").content.decode()
    assert VARIABLE_FIRST in html and 'data-warning="variable_text_first"' in html
    assert "within the first 16 tokens" in html and "the server&#x27;s /metrics did not answer" in html
    assert member_http.get(f"/deployments/{deployment.uuid}/prefix-cache/").status_code == 404
    assert outsider_http.get(f"/deployments/{deployment.uuid}/prefix-cache/").status_code == 404
