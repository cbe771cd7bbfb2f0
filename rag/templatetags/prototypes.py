"""Template helpers for prototype answers: citation markers as links to the cited passage."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@register.simple_tag
def cited_text(answer: Any, portal: bool = False) -> SafeString:
    """The answer's text, escaped, with each [n] that names a real citation turned into a link to that passage."""
    numbers = {c["n"] for c in answer.citations}
    namespace = "portal" if portal else "rag"

    def link(n: int) -> str:
        if n not in numbers:
            return f"{n}"
        url = reverse(f"{namespace}:answer-citation", args=[answer.uuid, n])
        return format_html(
            '<a class="citation" href="{}" hx-get="{}" hx-target="#citation-{}" data-citation="{}">{}</a>',
            url,
            url,
            answer.uuid,
            n,
            n,
        )

    def replace(match: re.Match[str]) -> str:
        parts = [link(int(p)) for p in re.split(r"\s*,\s*", match.group(1))]
        return "[" + ", ".join(parts) + "]"

    html = _MARKER.sub(replace, str(escape(answer.text)))
    return mark_safe(html.replace("\n", "<br>"))  # noqa: S308 - built from escaped text and format_html
