"""Template helpers for the documents list."""

from __future__ import annotations

from django import template

from rag import parsers
from rag.models import Document

register = template.Library()


@register.filter
def retry_helps(document: Document) -> bool:
    """Whether retrying a failed document could succeed: not when its own bytes are what cannot be read."""
    if not document.content:
        return False
    try:
        with document.content.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    return parsers.retry_can_help(name=document.file_name or document.external_id, head=head, size=document.size_bytes)
