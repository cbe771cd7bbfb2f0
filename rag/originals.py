"""How a client's uploaded original is given back to a browser without ever running its script in our origin.

Only formats a browser shows without running the file's own code are served inline: PDF (Chrome and Firefox show it
in their own viewer, outside this site's origin) and plain-text formats, sent as ``text/plain``. Everything else
(HTML, Word, Excel, e-mail) is shown as the text the parser extracted, inside our own page, and its original is
offered only as a download (``Content-Disposition: attachment``). Every original carries ``nosniff`` and a sandboxing
Content-Security-Policy, so even a browser that ignored the type would run nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import FileResponse

from rag import parsers
from rag.chunking import SEGMENT_SEPARATOR
from rag.models import Chunk, Document

PDF = "application/pdf"
PLAIN_TEXT = {"text/plain", "text/markdown", "text/csv", "application/json", "application/jsonl"}
# A sandboxed document gets a unique origin: no cookies, no storage, no script, no access to our pages.
ORIGINAL_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def shown_inline(document: Document) -> bool:
    return document.mime_type == PDF or document.mime_type in PLAIN_TEXT


def original_response(document: Document, *, download: bool) -> FileResponse:
    """The original file: inline for PDF and plain text (unless ``download``), an attachment for anything else."""
    inline = shown_inline(document) and not download
    if document.mime_type in PLAIN_TEXT:
        content_type = "text/plain; charset=utf-8"
    elif inline:
        content_type = document.mime_type
    else:
        content_type = "application/octet-stream"
    response = FileResponse(
        document.content.open("rb"),
        filename=document.file_name or document.external_id.rsplit("/", 1)[-1],
        as_attachment=not inline,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    if document.mime_type != PDF:
        # Chrome's PDF viewer does not open inside a sandboxed document; a PDF's own script runs in the viewer,
        # never in this origin.
        response["Content-Security-Policy"] = ORIGINAL_CSP
    return response


def extracted_text(document: Document) -> parsers.ParsedDocument:
    """The document's text as the parser reads it (raises ``parsers.ParseError`` for a file it cannot read)."""
    with document.content.open("rb") as handle:
        data = handle.read()
    return parsers.parse(name=document.file_name or document.external_id, data=data)


@dataclass
class ShownSegment:
    page: int | None
    heading: str
    before: str
    passage: str = ""
    after: str = ""


def _passage_span(text: str, chunk: Chunk) -> tuple[int, int] | None:
    """Where the chunk sits in the document's text: its recorded offsets, or where its text is found again."""
    if text[chunk.char_start : chunk.char_end].strip() == chunk.text.strip() and chunk.char_end > chunk.char_start:
        return chunk.char_start, chunk.char_end
    found = text.find(chunk.text.strip())
    return (found, found + len(chunk.text.strip())) if found >= 0 else None


def highlighted(parsed: parsers.ParsedDocument, chunk: Chunk) -> tuple[list[ShownSegment], bool]:
    """The document's segments with the cited passage marked, and whether the passage was found in them.

    Offsets index the segments joined as the chunker joined them; a file changed since it was read may no longer
    hold the passage, and then nothing is marked.
    """
    text = SEGMENT_SEPARATOR.join(s.text for s in parsed.segments)
    span = _passage_span(text, chunk)
    shown: list[ShownSegment] = []
    offset = 0
    for segment in parsed.segments:
        end = offset + len(segment.text)
        if span is None or span[1] <= offset or span[0] >= end:
            shown.append(ShownSegment(page=segment.page, heading=segment.heading, before=segment.text))
        else:
            start, stop = max(span[0], offset) - offset, min(span[1], end) - offset
            shown.append(
                ShownSegment(
                    page=segment.page,
                    heading=segment.heading,
                    before=segment.text[:start],
                    passage=segment.text[start:stop],
                    after=segment.text[stop:],
                )
            )
        offset = end + len(SEGMENT_SEPARATOR)
    return shown, span is not None
