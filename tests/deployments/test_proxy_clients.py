from __future__ import annotations

from typing import Any

import openai
import pytest
from langchain_openai import ChatOpenAI

from deployments.models import ModelCall, PromptPrefix
from tests.deployments.conftest import make_key
from tests.fixtures_services import wait_for

pytestmark = pytest.mark.vllm


def _client(gateway: Any, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.base_url, api_key=key, max_retries=0, timeout=60)


def test_openai_client_streams_through_the_gateway_and_the_call_is_logged(gateway, application, local_deployment):
    key = make_key(application, local_deployment)
    stream = _client(gateway, key).chat.completions.create(
        model=local_deployment.served_model_name,
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name two colours."}],
        max_tokens=12,
        stream=True,
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert all(c.choices for c in chunks), "the usage event the gateway asked for itself must not reach the caller"
    call = wait_for(lambda: ModelCall.objects.filter(application=application).first(), message="the call's log row")
    assert call.status == ModelCall.Status.OK
    assert call.deployment == local_deployment and call.engagement == application.engagement
    assert call.caller == "gateway.chat"
    assert call.prompt_tokens and call.prompt_tokens > 5
    assert call.completion_tokens and 1 <= call.completion_tokens <= 12
    assert call.ttft_ms is not None and 0 < call.ttft_ms <= call.total_ms
    assert call.gap_count == sum(1 for c in chunks if c.choices and c.choices[0].delta.content) - 1
    prefix = PromptPrefix.objects.get(call=call)
    assert prefix.tokens > 5 and prefix.deployment_id == local_deployment.pk


def test_usage_is_relayed_when_the_caller_asks_for_it(gateway, application, local_deployment):
    key = make_key(application, local_deployment)
    chunks = list(
        _client(gateway, key).chat.completions.create(
            model=local_deployment.served_model_name,
            messages=[{"role": "user", "content": "Say hi."}],
            max_tokens=5,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 5


def test_openai_client_without_streaming_and_legacy_completions(gateway, application, local_deployment):
    client = _client(gateway, make_key(application, local_deployment))
    chat = client.chat.completions.create(
        model=local_deployment.served_model_name, messages=[{"role": "user", "content": "Hi"}], max_tokens=6
    )
    completion = client.completions.create(model=local_deployment.served_model_name, prompt="Once upon", max_tokens=6)

    assert chat.choices[0].message.content and chat.usage.completion_tokens <= 6
    assert completion.choices[0].text and completion.usage.completion_tokens <= 6
    assert [m.id for m in client.models.list()] == [local_deployment.served_model_name]
    wait_for(lambda: ModelCall.objects.filter(application=application).count() == 2, message="two log rows")
    assert set(ModelCall.objects.values_list("caller", flat=True)) == {"gateway.chat", "gateway.completions"}


def test_langchain_chat_openai_streams_through_the_gateway(gateway, application, local_deployment):
    llm = ChatOpenAI(
        base_url=gateway.base_url,
        api_key=make_key(application, local_deployment),  # type: ignore[arg-type]
        model=local_deployment.served_model_name,
        max_tokens=10,  # type: ignore[call-arg]
        max_retries=0,
    )
    pieces = [chunk.content for chunk in llm.stream("Count to three.")]
    assert len(pieces) > 2 and "".join(map(str, pieces))
    assert llm.invoke("Say yes.").content
    wait_for(lambda: ModelCall.objects.filter(application=application).count() == 2, message="two log rows")
    assert list(ModelCall.objects.filter(application=application).values_list("status", "error")) == [("ok", "")] * 2
