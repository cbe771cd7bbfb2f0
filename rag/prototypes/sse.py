"""Server-sent events for the ask page: one answer's retrieval, tokens and final card, as htmx's SSE extension
expects them (each event's data is an HTML fragment on ``data:`` lines)."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils.html import escape

from rag.models import Answer
from rag.prototypes.services import answer_claim, answer_generate


def event(name: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {name}\n{data}\n\n"


def _final(request: HttpRequest, answer: Answer, template: str) -> str:
    answer.refresh_from_db()
    return event("done", render_to_string(template, {"answer": answer}, request=request))


def answer_events(request: HttpRequest, answer: Answer, *, template: str) -> Iterator[str]:
    if not answer_claim(answer=answer):
        # A reconnect, or a second tab: the answer is (being) generated elsewhere, so show its current state.
        yield _final(request, answer, template)
        return
    yield ": retrieving\n\n"  # sends the headers now, so the browser shows the stream has started
    for item in answer_generate(answer=answer):
        if item.kind == "sources" and item.outcome is not None:
            html = render_to_string(
                "rag/prototypes/_sources.html", {"answer": answer, "outcome": item.outcome}, request=request
            )
            yield event("sources", html)
        elif item.kind == "token":
            yield event("token", escape(item.text).replace("\n", "<br>"))
    yield _final(request, answer, template)


def answer_stream_response(request: HttpRequest, answer: Answer, *, template: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        answer_events(request, answer, template=template), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the tokens back
    return response
