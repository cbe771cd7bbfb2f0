"""The one way the product talks to a language model.

Every generation (an answer, an eval case, a judgement) goes through ``chat_stream`` or ``chat_complete``, which
call the deployment with LangChain's ``ChatOpenAI`` and write one ``ModelCall`` row per call: tokens, time to first
token, inter-token gaps, end-to-end time and status. Connection and read timeouts are short and retries are off, so
a down or stalled endpoint becomes a ``ModelEndpointError`` with a message a person can act on within seconds.

    stream = chat_stream(deployment=d, messages=[("system", "..."), ("user", "...")], caller="rag.ask")
    for piece in stream:
        ...
    stream.stats.ttft_ms, stream.call.id
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import openai
from django.conf import settings
from langchain_openai import ChatOpenAI

from deployments.callstats import CallStats
from deployments.models import Deployment, ModelCall, PromptPrefix
from deployments.prompt_shape import render_chat, shape_of

Message = tuple[str, str]

CONNECT_TIMEOUT = float(getattr(settings, "MODEL_CONNECT_TIMEOUT", 3.0))
READ_TIMEOUT = float(getattr(settings, "MODEL_READ_TIMEOUT", 20.0))
CALL_DEADLINE = float(getattr(settings, "MODEL_CALL_DEADLINE", 120.0))


UNAVAILABLE = (
    "The model behind this assistant is not answering right now, so no answer was written. The failure is logged "
    "for the engagement team; try again in a few minutes."
)


class ModelEndpointError(Exception):
    """The model endpoint could not produce an answer.

    ``str(exc)`` says why and what to check, naming the endpoint and its address: for provider staff only.
    ``public_message`` says the same without them, for a client's users; ``message_for(user)`` picks.
    ``limit`` names the time limit that ended the call, when one did: ``"read_timeout"`` (nothing arrived for that
    long) or ``"deadline"`` (the whole call took too long, however steadily bytes came).
    """

    def __init__(
        self, message: str, *, status: str, public_message: str = UNAVAILABLE, limit: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.public_message = public_message
        self.limit = limit

    def message_for(self, user: Any) -> str:
        from accounts.selectors import user_is_provider

        return str(self) if user_is_provider(user) else self.public_message


class DeadlineTransport(httpx.HTTPTransport):
    """An HTTP transport that ends a call at an overall deadline, which httpx's per-read timeouts cannot do.

    A server that trickles a byte every few seconds never trips the read timeout; this checks the clock on every
    chunk and shortens the read timeout to what is left, so the call ends at the deadline either way.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.expires_at = time.monotonic() + seconds

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.expires_at - 0.05

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        remaining = max(0.01, self.expires_at - time.monotonic())
        timeout = dict(request.extensions.get("timeout") or {})
        timeout["read"] = min(timeout.get("read") or remaining, remaining)
        request.extensions["timeout"] = timeout
        response = super().handle_request(request)
        response.stream = _DeadlineStream(response.stream, self)  # type: ignore[arg-type]
        return response


class _DeadlineStream(httpx.SyncByteStream):
    def __init__(self, inner: Any, transport: DeadlineTransport) -> None:
        self.inner = inner
        self.transport = transport

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            if self.transport.expired:
                raise httpx.ReadTimeout("the call's overall deadline passed")
            yield chunk

    def close(self) -> None:
        self.inner.close()


def chat_model(
    *,
    deployment: Deployment,
    temperature: float = 0.0,
    max_tokens: int = 256,
    frequency_penalty: float | None = None,
    stop: Sequence[str] | None = None,
    json_schema: dict[str, Any] | None = None,
    read_timeout: float | None = None,
    deadline: float | None = None,
    transport: DeadlineTransport | None = None,
    http_client: httpx.Client | None = None,
) -> ChatOpenAI:
    """A ``ChatOpenAI`` pointed at the deployment, with the product's timeouts and no silent retries.

    The caller owns ``http_client`` (closing it ends the call's connections); one is made when none is given.
    """
    transport = transport or DeadlineTransport(deadline or CALL_DEADLINE)
    extra_body: dict[str, Any] = {}
    if json_schema is not None:
        # Sent in the body rather than as response_format so LangChain keeps its plain streaming path;
        # vLLM and OpenAI both constrain the output to the schema.
        extra_body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "judgement", "schema": json_schema},
        }
    return ChatOpenAI(
        base_url=deployment.base_url,
        api_key=deployment.api_key or "not-needed",  # type: ignore[arg-type]
        model=deployment.served_model_name,
        temperature=temperature,
        max_tokens=max_tokens,  # type: ignore[call-arg]
        frequency_penalty=frequency_penalty,
        stop=list(stop) if stop else None,  # type: ignore[call-arg]
        stream_usage=True,
        max_retries=0,
        timeout=httpx.Timeout(read_timeout or READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        http_client=http_client or httpx.Client(transport=transport),
        extra_body=extra_body or None,
    )


class ChatStream:
    """Iterate for the answer's text pieces; ``stats``, ``text`` and ``call`` (the log row) are set when it ends."""

    def __init__(
        self,
        *,
        deployment: Deployment,
        messages: Sequence[Message],
        caller: str,
        engagement: Any = None,
        **model_options: Any,
    ) -> None:
        self.deployment = deployment
        self.messages = list(messages)
        self.caller = caller
        self.engagement = engagement
        self.model_options = model_options
        self.stats = CallStats()
        self.pieces: list[str] = []
        self.call: ModelCall | None = None
        self._stop_reason = ""

    def stop(self, reason: str) -> None:
        """End the call after the current piece, as a finished call (the reader decided it had enough)."""
        self._stop_reason = reason

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def __iter__(self) -> Iterator[str]:
        transport = DeadlineTransport(self.model_options.get("deadline") or CALL_DEADLINE)
        http_client = httpx.Client(transport=transport)
        llm = chat_model(deployment=self.deployment, http_client=http_client, **self.model_options)
        start = last = time.perf_counter()
        status, error = ModelCall.Status.OK, ""
        try:
            for chunk in llm.stream(self.messages):
                if chunk.usage_metadata:
                    self.stats.prompt_tokens = chunk.usage_metadata.get("input_tokens")
                    self.stats.completion_tokens = chunk.usage_metadata.get("output_tokens")
                text = chunk.content if isinstance(chunk.content, str) else ""
                if not text:
                    continue
                now = time.perf_counter()
                if self.stats.ttft_ms is None:
                    self.stats.ttft_ms = (now - start) * 1000
                else:
                    self.stats.gaps_ms.append((now - last) * 1000)
                last = now
                self.pieces.append(text)
                yield text
                if self._stop_reason:
                    break
        except (openai.APITimeoutError, httpx.TimeoutException) as exc:
            limit = "deadline" if transport.expired else "read_timeout"
            status, error = ModelCall.Status.TIMEOUT, self._timeout_message(limit, transport.seconds)
            raise ModelEndpointError(error, status=status, limit=limit) from exc
        except (openai.APIConnectionError, httpx.TransportError) as exc:
            status, error = ModelCall.Status.UNREACHABLE, self._unreachable_message()
            raise ModelEndpointError(error, status=status) from exc
        except openai.APIStatusError as exc:
            status = ModelCall.Status.ERROR
            error = (
                f"The model endpoint {self.deployment.name} answered HTTP {exc.status_code}: "
                f"{_short(exc.message)}. Check the deployment's model name and API key."
            )
            raise ModelEndpointError(error, status=status) from exc
        except GeneratorExit:
            status, error = ModelCall.Status.ERROR, "The caller stopped reading before the answer ended."
            raise
        finally:
            http_client.close()
            self.stats.total_ms = (time.perf_counter() - start) * 1000
            self.call = self._log(status=status, error=error)

    def _timeout_message(self, limit: str, deadline: float) -> str:
        if limit == "deadline":
            return (
                f"The model endpoint {self.deployment.name} was still answering after {deadline:.0f} s, the limit "
                "for one call (MODEL_CALL_DEADLINE): it is sending very slowly, so check its load (see /healthz), "
                "ask for a shorter answer, or try again."
            )
        seconds = self.model_options.get("read_timeout") or READ_TIMEOUT
        return (
            f"The model endpoint {self.deployment.name} did not answer within {seconds:.0f} s (the read timeout "
            "between bytes, MODEL_READ_TIMEOUT): check that it is running and not overloaded (see /healthz), or "
            "try again."
        )

    def _unreachable_message(self) -> str:
        return (
            f"The model endpoint {self.deployment.name} ({self.deployment.base_url}) refused the connection or "
            f"could not be reached within {CONNECT_TIMEOUT:.0f} s: check that it is running (see /healthz)."
        )

    def _log(self, *, status: str, error: str) -> ModelCall:
        call = ModelCall.objects.create(
            deployment=self.deployment,
            engagement=self.engagement,
            caller=self.caller[:40],
            status=status,
            prompt_tokens=self.stats.prompt_tokens,
            completion_tokens=self.stats.completion_tokens,
            ttft_ms=self.stats.ttft_ms,
            total_ms=self.stats.total_ms,
            error=error[:500],
            **self.stats.gap_summary(),
        )
        shape = shape_of(render_chat([{"role": role, "content": content} for role, content in self.messages]))
        PromptPrefix.objects.create(
            call=call, deployment=self.deployment, created_at=call.created_at, **shape.as_fields()
        )
        return call


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chat_stream(
    *, deployment: Deployment, messages: Sequence[Message], caller: str, engagement: Any = None, **model_options: Any
) -> ChatStream:
    return ChatStream(deployment=deployment, messages=messages, caller=caller, engagement=engagement, **model_options)


def chat_complete(
    *, deployment: Deployment, messages: Sequence[Message], caller: str, engagement: Any = None, **model_options: Any
) -> ChatStream:
    """Run a call to the end (still streamed, so time to first token is measured) and return the finished stream."""
    stream = chat_stream(
        deployment=deployment, messages=messages, caller=caller, engagement=engagement, **model_options
    )
    for _ in stream:
        pass
    return stream
