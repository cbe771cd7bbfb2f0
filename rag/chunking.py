"""Split parsed segments into chunks with LangChain's splitters, keeping page, heading path and character offsets.

Offsets index into the document's normalised text: its segments joined by a blank line. Markdown (and HTML,
which the parser turns into Markdown headings) is first cut at its headers with ``MarkdownHeaderTextSplitter``;
every piece is then cut by size with ``RecursiveCharacterTextSplitter``, counting characters or, when the
knowledge base asks for it, the embedding model's own tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter, TextSplitter

from rag.parsers import Segment

SEGMENT_SEPARATOR = "\n\n"
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


@dataclass
class ChunkDraft:
    index: int
    text: str
    page: int | None
    heading_path: str
    char_start: int
    char_end: int


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from transformers import AutoTokenizer

    from rag.embeddings import local_model_path

    return AutoTokenizer.from_pretrained(local_model_path())


def _splitter(chunk_size: int, chunk_overlap: int, token_based: bool) -> TextSplitter:
    overlap = min(chunk_overlap, chunk_size // 2)
    if token_based:
        return RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
            _tokenizer(), chunk_size=chunk_size, chunk_overlap=overlap, add_start_index=True
        )
    return RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=overlap, add_start_index=True)


def _header_sections(text: str) -> list[tuple[int, str, str]]:
    """(offset, heading path, original text) per header section, cut where each section's first line starts."""
    splitter = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=False)
    sections = splitter.split_text(text)
    starts: list[tuple[int, str]] = []
    cursor = 0
    for section in sections:
        first_line = section.page_content.split("\n", 1)[0].rstrip()
        found = text.find(first_line, cursor)
        if found < 0:
            continue
        path = " › ".join(section.metadata[key] for _, key in _HEADERS if key in section.metadata)
        starts.append((found, path))
        cursor = found + len(first_line)
    if not starts:
        return [(0, "", text)]
    if starts[0][0] > 0:
        starts.insert(0, (0, ""))
    bounds = [s[0] for s in starts] + [len(text)]
    return [(start, path, text[start : bounds[i + 1]]) for i, (start, path) in enumerate(starts)]


def chunk_segments(
    segments: list[Segment], *, chunk_size: int, chunk_overlap: int, token_based: bool = False
) -> list[ChunkDraft]:
    splitter = _splitter(chunk_size, chunk_overlap, token_based)
    drafts: list[ChunkDraft] = []
    offset = 0
    for segment in segments:
        pieces = _header_sections(segment.text) if segment.markdown else [(0, "", segment.text)]
        for piece_start, path, piece in pieces:
            heading = " › ".join(p for p in (segment.heading, path) if p)
            for doc in splitter.create_documents([piece]):
                text = doc.page_content.strip()
                if not text:
                    continue
                start = offset + piece_start + int(doc.metadata.get("start_index", 0))
                drafts.append(
                    ChunkDraft(
                        index=len(drafts),
                        text=text,
                        page=segment.page,
                        heading_path=heading[:1000],
                        char_start=start,
                        char_end=start + len(doc.page_content),
                    )
                )
        offset += len(segment.text) + len(SEGMENT_SEPARATOR)
    return drafts


def full_text(segments: list[Segment]) -> str:
    return SEGMENT_SEPARATOR.join(s.text for s in segments)
