"""Turn a file's bytes into text segments, through well-kept parsers, or fail with a message a person can act on.

``parse(name=..., data=...)`` sniffs the content (``filetype``), checks it against the name's extension, and
dispatches to pypdf, python-docx, BeautifulSoup (lxml), openpyxl, ``csv``, ``json`` or the stdlib ``email``
package. Each ``Segment`` keeps what provenance the format has: a PDF page, a heading, whether it is Markdown
(so the chunker can split on its headers).
"""

from __future__ import annotations

import csv
import email
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any

import charset_normalizer
import filetype
from bs4 import BeautifulSoup
from django.conf import settings


class ParseError(Exception):
    """A problem with one document, worded for the person who uploaded it."""


@dataclass
class Segment:
    text: str
    page: int | None = None
    heading: str = ""
    markdown: bool = False


@dataclass
class ParsedDocument:
    segments: list[Segment]
    mime_type: str
    title: str = ""
    page_count: int | None = None
    document_date: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


TEXT_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".csv": "text/csv",
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".ndjson": "application/jsonl",
    ".eml": "message/rfc822",
}
BINARY_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SUPPORTED_EXTENSIONS = sorted(TEXT_TYPES) + sorted(BINARY_TYPES)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def normalise(text: str) -> str:
    """NFC, Unix newlines, no control characters, no trailing blanks, at most one empty line in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_CHARS.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise ParseError(
            f"The text is not UTF-8 (byte 0x{bad} at position {exc.start} is invalid). "
            "Save the file as UTF-8 and upload it again."
        ) from exc


def detect_type(name: str, data: bytes) -> str:
    """The MIME type to parse ``data`` as, or a ParseError for empty, unsupported or mislabelled files."""
    if not data:
        raise ParseError("The file is empty (0 bytes). Export it again, or leave it out.")
    ext = PurePosixPath(name).suffix.lower()
    sniffed = filetype.guess(data[:8192])
    if ext in BINARY_TYPES:
        if sniffed is None or sniffed.mime != BINARY_TYPES[ext]:
            found = f"{sniffed.mime} content" if sniffed else "content that is not a valid file of that type"
            raise ParseError(
                f"The file is named {ext} but holds {found}. Check that it was exported correctly, or rename it "
                "to its real type."
            )
        return BINARY_TYPES[ext]
    if ext in TEXT_TYPES:
        if sniffed is not None:
            raise ParseError(
                f"The file is named {ext} but holds {sniffed.mime} content. Rename it to its real type "
                f"(.{sniffed.extension}) or export it again."
            )
        return TEXT_TYPES[ext]
    if sniffed is not None and f".{sniffed.extension}" in BINARY_TYPES:
        return sniffed.mime
    if sniffed is None and (text_type := _text_type(data)):
        return text_type  # a licence file named GPL-3, a README, notes with an unknown extension
    label = f"'{ext}'" if ext else "without an extension"
    raise ParseError(
        f"Files {label} are not supported. Supported types: {', '.join(SUPPORTED_EXTENSIONS)} (and .zip archives)."
    )


def retry_can_help(*, name: str, head: bytes, size: int) -> bool:
    """False when the file itself is what failed (empty, too big, of an unsupported or mislabelled type): reading
    the same bytes again would fail the same way, so only a corrected file helps. ``head`` is the file's start."""
    if size > _limit("RAG_MAX_FILE_BYTES", 25 * 1024 * 1024):
        return False
    try:
        detect_type(name, head)
    except ParseError:
        return False
    return True


_HTML_START = re.compile(rb"\s*(<!doctype html|<html[\s>])", re.IGNORECASE)


def _text_type(data: bytes) -> str | None:
    """The text type of a file whose name does not say it: HTML, JSON or plain text, or None for binary content.

    ``charset_normalizer`` decides whether the bytes are text in some encoding at all (binary data has none).
    """
    sample = data[:65536]
    if b"\x00" in sample or charset_normalizer.from_bytes(sample).best() is None:
        return None
    if _HTML_START.match(sample):
        return "text/html"
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            json.loads(data)
            return "application/json"
        except ValueError:
            pass
    return "text/plain"


def parse(*, name: str, data: bytes) -> ParsedDocument:
    max_bytes = _limit("RAG_MAX_FILE_BYTES", 25 * 1024 * 1024)
    if len(data) > max_bytes:
        raise ParseError(
            f"The file is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit. Split it into "
            "smaller files."
        )
    mime = detect_type(name, data)
    parsed = _PARSERS[mime](data)
    parsed.mime_type = mime
    for segment in parsed.segments:
        segment.text = normalise(segment.text)
    parsed.segments = [s for s in parsed.segments if s.text]
    if not parsed.segments:
        raise ParseError("No text could be extracted from the file. If it is a scan, run it through OCR first.")
    parsed.title = parsed.title or PurePosixPath(name).stem
    return parsed


def _pdf(data: bytes) -> ParsedDocument:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("The PDF is password-protected. Remove the password (or export an open copy) and retry.")
        pages = [Segment(text=page.extract_text() or "", page=number) for number, page in enumerate(reader.pages, 1)]
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except FileNotDecryptedError as exc:
        raise ParseError("The PDF is password-protected. Remove the password and retry.") from exc
    except ParseError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ParseError(f"The PDF is damaged and cannot be read ({exc}). Export it again from its source.") from exc
    return ParsedDocument(segments=pages, mime_type="", title=title, page_count=len(pages))


def _docx(data: bytes) -> ParsedDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise ParseError(f"The Word document cannot be opened ({exc}). Save it again as .docx.") from exc
    lines: list[str] = []
    for paragraph in document.paragraphs:
        style = paragraph.style.name if paragraph.style is not None else ""
        text = paragraph.text.strip()
        if not text:
            continue
        level = re.match(r"Heading (\d)", style or "")
        lines.append(f"{'#' * int(level.group(1))} {text}" if level else text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    title = document.core_properties.title or ""
    return ParsedDocument(segments=[Segment(text="\n\n".join(lines), markdown=True)], mime_type="", title=title)


_DROP_TAGS = ["script", "style", "noscript", "template", "svg", "iframe", "object", "canvas", "head"]


def html_to_markdown(markup: str | bytes) -> tuple[str, str]:
    """Readable text of an HTML page with its headings as Markdown headers (so chunks keep a heading path)."""
    soup = BeautifulSoup(markup, "lxml")
    title = soup.title.get_text(strip=True) if soup.title else ""
    script_blocks = len(soup.find_all("script"))
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for level in range(1, 7):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for block in soup.find_all(["p", "li", "tr", "br", "div", "section", "article", "blockquote", "pre"]):
        block.insert_after("\n")
    text = normalise(soup.get_text())
    if len(re.sub(r"[#\s]", "", text)) < 20 and script_blocks:
        raise ParseError(
            f"The HTML page has no readable text: its content is {script_blocks} script block(s) that build the "
            "page in a browser. Save the rendered page (or export its text) and upload that."
        )
    return text, title


def _html(data: bytes) -> ParsedDocument:
    text, title = html_to_markdown(data)
    return ParsedDocument(segments=[Segment(text=text, markdown=True)], mime_type="", title=title)


def _markdown(data: bytes) -> ParsedDocument:
    text = decode_text(data)
    first = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return ParsedDocument(
        segments=[Segment(text=text, markdown=True)], mime_type="", title=first.group(1) if first else ""
    )


def _text(data: bytes) -> ParsedDocument:
    return ParsedDocument(segments=[Segment(text=decode_text(data))], mime_type="")


def _record(header: list[str], values: list[Any]) -> str:
    pairs = []
    for column, value in zip(header, values, strict=False):
        if value is None or str(value).strip() == "":
            continue
        pairs.append(f"{column}: {value}" if column else str(value))
    return "; ".join(pairs)


def _check_columns(count: int, where: str) -> None:
    limit = _limit("RAG_MAX_COLUMNS", 2000)
    if count > limit:
        raise ParseError(
            f"{where} has {count:,} columns, over the limit of {limit:,}. Delete the empty columns (or export "
            "only the used range) and upload it again."
        )


def _csv(data: bytes) -> ParsedDocument:
    text = decode_text(data)
    csv.field_size_limit(_limit("RAG_MAX_FILE_BYTES", 25 * 1024 * 1024))
    try:
        rows = csv.reader(io.StringIO(text))
        header = next(rows, [])
        _check_columns(len(header), "The header row")
        header = [h.strip() for h in header]
        records = []
        for number, row in enumerate(rows, 2):
            _check_columns(len(row), f"Row {number}")
            record = _record(header, row)
            if record:
                records.append(record)
    except csv.Error as exc:
        raise ParseError(f"The CSV cannot be read: {exc}. Check its quoting and delimiters.") from exc
    return ParsedDocument(segments=[Segment(text="\n".join(records))], mime_type="", metadata={"rows": len(records)})


def _xlsx(data: bytes) -> ParsedDocument:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ParseError(f"The spreadsheet cannot be opened ({exc}). Save it again as .xlsx.") from exc
    segments = []
    try:
        for sheet in workbook.worksheets:
            _check_columns(sheet.max_column or 0, f"Sheet '{sheet.title}'")
            rows = sheet.iter_rows(values_only=True)
            header = [str(v).strip() if v is not None else "" for v in next(rows, ())]
            records = [r for r in (_record(header, list(row)) for row in rows) if r]
            segments.append(Segment(text="\n".join(records), heading=sheet.title))
    finally:
        workbook.close()
    return ParsedDocument(segments=segments, mime_type="")


def _flatten(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [line for key, item in value.items() for line in _flatten(item, f"{prefix}{key}.")]
    if isinstance(value, list) and not all(isinstance(v, str | int | float | bool) for v in value):
        return [line for i, item in enumerate(value) for line in _flatten(item, f"{prefix}{i}.")]
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return [f"{prefix.rstrip('.')}: {value}" if prefix else str(value)]


def _json_records(items: list[Any]) -> str:
    return "\n".join("; ".join(_flatten(item)) for item in items)


def _json(data: bytes) -> ParsedDocument:
    text = decode_text(data)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from exc
    items = value if isinstance(value, list) else [value]
    return ParsedDocument(segments=[Segment(text=_json_records(items))], mime_type="")


def _jsonl(data: bytes) -> ParsedDocument:
    items = []
    for number, line in enumerate(decode_text(data).splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ParseError(f"Line {number} is not valid JSON ({exc.msg}). Fix or remove that line.") from exc
    return ParsedDocument(segments=[Segment(text=_json_records(items))], mime_type="", metadata={"rows": len(items)})


def _eml(data: bytes) -> ParsedDocument:
    message = email.message_from_bytes(data, policy=policy.default)
    if not (message["From"] or message["Subject"] or message["Date"]):
        raise ParseError("The .eml file has no e-mail headers (From, Subject, Date). Export the message again.")
    body = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    content = body.get_content() if body is not None else ""
    if body is not None and body.get_content_type() == "text/html":
        content, _ = html_to_markdown(content)
    header = "\n".join(f"{name}: {message[name]}" for name in ("From", "To", "Subject", "Date") if message[name])
    sent = None
    if message["Date"]:
        try:
            sent = parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            sent = None
    attachments = [part.get_filename() for part in message.iter_attachments()]  # type: ignore[attr-defined]
    return ParsedDocument(
        segments=[Segment(text=f"{header}\n\n{content}")],
        mime_type="",
        title=str(message["Subject"] or ""),
        document_date=sent,
        metadata={"attachments": [a for a in attachments if a]},
    )


_PARSERS = {
    "text/plain": _text,
    "text/markdown": _markdown,
    "text/html": _html,
    "text/csv": _csv,
    "application/json": _json,
    "application/jsonl": _jsonl,
    "message/rfc822": _eml,
    "application/pdf": _pdf,
    BINARY_TYPES[".docx"]: _docx,
    BINARY_TYPES[".xlsx"]: _xlsx,
}
