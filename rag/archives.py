"""Expand uploaded zip archives into files, refusing bombs and deep nesting before anything is decompressed."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings


@dataclass
class ArchiveEntry:
    """A file found in an upload; ``error`` set means it becomes a failed document with that message."""

    name: str
    data: bytes = b""
    error: str = ""


def is_zip(name: str, data: bytes) -> bool:
    return name.lower().endswith(".zip") or (data[:4] == b"PK\x03\x04" and PurePosixPath(name).suffix == "")


def expand(name: str, data: bytes, *, depth: int = 0) -> list[ArchiveEntry]:
    """The files inside a zip (recursively, to ``RAG_MAX_ARCHIVE_DEPTH``), each named ``archive/inner/path``."""
    max_depth = int(getattr(settings, "RAG_MAX_ARCHIVE_DEPTH", 2))
    max_total = int(getattr(settings, "RAG_MAX_ARCHIVE_BYTES", 500 * 1024 * 1024))
    max_members = int(getattr(settings, "RAG_MAX_ARCHIVE_MEMBERS", 5000))
    max_ratio = int(getattr(settings, "RAG_MAX_COMPRESSION_RATIO", 200))
    max_file = int(getattr(settings, "RAG_MAX_FILE_BYTES", 25 * 1024 * 1024))
    if depth >= max_depth:
        return [ArchiveEntry(name, error=f"Archives nested more than {max_depth} deep are refused. Unpack it first.")]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except zipfile.BadZipFile as exc:
        return [ArchiveEntry(name, error=f"The zip archive is damaged ({exc}). Create it again.")]
    declared = sum(i.file_size for i in infos)
    compressed = max(1, sum(i.compress_size for i in infos))
    if len(infos) > max_members:
        return [ArchiveEntry(name, error=f"The archive holds {len(infos):,} files, over the {max_members:,} limit.")]
    if declared > max_total or declared / compressed > max_ratio:
        return [
            ArchiveEntry(
                name,
                error=(
                    f"The archive would expand to {declared / 1e6:,.0f} MB from {compressed / 1e6:,.1f} MB "
                    f"(ratio {declared / compressed:,.0f}:1), which looks like a zip bomb. Limits: "
                    f"{max_total / 1e6:,.0f} MB and {max_ratio}:1."
                ),
            )
        ]
    entries: list[ArchiveEntry] = []
    for info in infos:
        inner = f"{name}/{info.filename}"
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if info.filename.startswith(("/", "\\")) or ".." in parts:
            entries.append(
                ArchiveEntry(
                    inner,
                    error="Its path leads outside the archive (an absolute path or '..'); it was refused. "
                    "Zip the files again from their folder.",
                )
            )
            continue
        if parts[:1] == ("__MACOSX",) or any(part.startswith(".") for part in parts):
            continue  # the Finder's resource forks and hidden files are not documents
        if info.file_size > max_file:
            entries.append(ArchiveEntry(inner, error=f"The file is {info.file_size / 1e6:.1f} MB, over the limit."))
            continue
        try:
            # Read one byte past the declared size: a member that lies about its size is caught here.
            with archive.open(info) as handle:
                content = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            entries.append(ArchiveEntry(inner, error=f"This file in the archive cannot be read ({exc})."))
            continue
        if len(content) > info.file_size:
            entries.append(ArchiveEntry(inner, error="The archive misstates this file's size; it was refused."))
        elif is_zip(info.filename, content):
            entries.extend(expand(inner, content, depth=depth + 1))
        else:
            entries.append(ArchiveEntry(inner, content))
    return entries
