"""Ingestion: sources and documents in, chunks and vectors out, as re-runnable batches (job rows).

Flow: a service records documents (``documents_add_files``, ``source_sync``) and an ``IngestionBatch`` job row,
then enqueues ``rag.tasks.ingest_batch`` on commit (``jobs.services``). The task claims the row and runs
``batch_work``: parse → normalise → chunk, embed a group of documents at a time (to keep the model's batches full),
then store each document.

Every step is re-runnable: a document's chunks and vectors are replaced, its status set and the batch's progress
advanced, in one transaction, so a worker killed at any point leaves each document either fully stored or still
pending, and progress moves one document at a time. Between documents the batch beats its heart and stops when a
cancel was requested, keeping what it stored. The jobs sweeper puts batches whose worker died back in the queue.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.template import Context, Engine
from django.utils import timezone

from jobs import services as jobs
from jobs.models import JobStatus
from rag import archives, parsers
from rag.chunking import ChunkDraft, chunk_segments
from rag.embeddings import EmbeddingError, embed_documents
from rag.models import Chunk, ChunkEmbedding, DataSource, Document, IngestionBatch, KnowledgeBase

logger = logging.getLogger(__name__)
UPLOAD_SOURCE_NAME = "Uploads"
# What a client's users read when a file or a source fails for a reason whose text may name servers or paths.
UNREADABLE = "The file could not be read. The engagement team can see why and will follow up."
SOURCE_UNREADABLE = "The data source could not be read. The engagement team can see why and will follow up."


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- sources -------------------------------------------------------------------------------------------------


def source_upload_for(*, knowledge_base: KnowledgeBase) -> DataSource:
    source, _ = DataSource.objects.get_or_create(
        knowledge_base=knowledge_base, name=UPLOAD_SOURCE_NAME, defaults={"kind": DataSource.Kind.UPLOAD}
    )
    return source


@transaction.atomic
def source_create_folder(*, knowledge_base: KnowledgeBase, path: str, name: str = "") -> DataSource:
    folder = Path(path).expanduser().resolve()
    source = DataSource(knowledge_base=knowledge_base, name=name or f"Folder {folder}", kind=DataSource.Kind.FOLDER)
    source.folder_path = str(folder)
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def source_create_sql(
    *,
    knowledge_base: KnowledgeBase,
    name: str,
    connection_url: str,
    query: str,
    key_column: str,
    row_template: str,
    title_column: str = "",
) -> DataSource:
    source = DataSource(
        knowledge_base=knowledge_base,
        name=name,
        kind=DataSource.Kind.SQL,
        query=query,
        key_column=key_column,
        title_column=title_column,
        row_template=row_template,
    )
    source.connection_url = connection_url
    source.full_clean()
    source.save()
    return source


# --- documents -----------------------------------------------------------------------------------------------


@dataclass
class _Upsert:
    created: int = 0
    changed: int = 0
    unchanged: int = 0


def _document_upsert(
    *,
    source: DataSource,
    batch: IngestionBatch,
    external_id: str,
    data: bytes,
    file_name: str,
    error: str = "",
    title: str = "",
    counts: _Upsert,
) -> Document | None:
    """Record one file's content for ``batch``; None when the stored content already has this hash."""
    digest = _sha256(data)
    doc = Document.objects.select_for_update().filter(source=source, external_id=external_id).first()
    if doc is not None and not error and doc.content_hash == digest and doc.status == Document.Status.READY:
        counts.unchanged += 1
        return None
    if doc is None:
        doc = Document(knowledge_base=source.knowledge_base, source=source, external_id=external_id)
        counts.created += 1
    else:
        counts.changed += 1
        if doc.content:
            doc.content.delete(save=False)
    doc.batch = batch
    doc.file_name = Path(file_name).name[:500]
    doc.title = title[:500]
    doc.content_hash = digest
    doc.size_bytes = len(data)
    doc.attempts = 0
    if error:
        doc.status, doc.error = Document.Status.FAILED, error
    else:
        doc.status, doc.error, doc.error_detail = Document.Status.PENDING, "", ""
        doc.content.save(
            f"{source.knowledge_base.uuid}/{doc.uuid}{Path(file_name).suffix.lower()}", ContentFile(data), save=False
        )
    doc.save()
    return doc


def _entries(name: str, data: bytes) -> list[archives.ArchiveEntry]:
    """The documents in one uploaded or discovered file; a file refused for its size is never stored."""
    max_bytes = int(getattr(settings, "RAG_MAX_FILE_BYTES", 25 * 1024 * 1024))
    if archives.is_zip(name, data) and len(data) <= max_bytes * 4:
        return archives.expand(name, data)
    if len(data) > max_bytes:
        error = (
            f"The file is {len(data) / 1e6:,.1f} MB, over the {max_bytes / 1e6:,.1f} MB limit. "
            "Split it or remove images, then upload it again."
        )
        return [archives.ArchiveEntry(name, b"", error=error)]
    return [archives.ArchiveEntry(name, data)]


def _batch_new(*, knowledge_base: KnowledgeBase, source: DataSource | None, label: str, actor: Any) -> IngestionBatch:
    return IngestionBatch.objects.create(
        knowledge_base=knowledge_base,
        source=source,
        label=label,
        started_by=actor if getattr(actor, "pk", None) else None,
        engagement_id=knowledge_base.engagement_id,
    )


def _batch_count(batch: IngestionBatch, counts: _Upsert, *, close: bool) -> None:
    """Count the batch's documents; ``close`` ends a batch that has nothing left to do before it is queued."""
    documents = batch.documents.all()
    batch.total = documents.count()
    batch.failed_count = documents.filter(status=Document.Status.FAILED).count()
    batch.progress = documents.filter(status__in=[Document.Status.READY, Document.Status.FAILED]).count()
    batch.skipped_count = counts.unchanged
    fields = ["total", "failed_count", "progress", "skipped_count", "label"]
    if close and batch.total == batch.progress:
        batch.status, batch.finished_at = JobStatus.SUCCEEDED, timezone.now()
        fields += ["status", "finished_at"]
    batch.save(update_fields=fields)  # never the job's own fields: a cancel may arrive meanwhile


@transaction.atomic
def documents_add_files(
    *, knowledge_base: KnowledgeBase, files: Iterable[tuple[str, bytes]], actor: Any = None
) -> IngestionBatch:
    """Record uploaded files (zip archives expanded) as documents of the base's upload source, and queue them.

    A file whose name is already in the base is replaced when its content changed and skipped when not. A file
    that cannot be accepted (too large, a zip bomb) becomes a failed document saying why; the rest go on.
    """
    source = source_upload_for(knowledge_base=knowledge_base)
    batch = _batch_new(knowledge_base=knowledge_base, source=source, label="Upload", actor=actor)
    counts = _Upsert()
    names = []
    for name, data in files:
        names.append(name)
        for entry in _entries(name, data):
            _document_upsert(
                source=source,
                batch=batch,
                external_id=entry.name,
                data=entry.data,
                file_name=entry.name,
                error=entry.error,
                counts=counts,
            )
    batch.label = f"Upload of {names[0]}" + (f" and {len(names) - 1} more" if len(names) > 1 else "")
    _batch_count(batch, counts, close=True)
    if batch.status == JobStatus.QUEUED:
        jobs.enqueue(batch)
    return batch


@transaction.atomic
def source_sync(*, source: DataSource, actor: Any = None, enqueue: bool = True) -> IngestionBatch:
    """Queue a re-sync of a folder or SQL source; the worker reads the source (it may be slow or down).

    ``enqueue=False`` leaves the batch queued for a caller that runs it in-process (the import command, the seed).
    """
    batch = _batch_new(knowledge_base=source.knowledge_base, source=source, label=f"Sync of {source.name}", actor=actor)
    if enqueue:
        jobs.enqueue(batch)
    return batch


def _discover_folder(source: DataSource, batch: IngestionBatch, counts: _Upsert) -> set[str]:
    root = Path(source.folder_path)
    if not root.is_dir():
        raise parsers.ParseError(f"The folder {root} does not exist or cannot be read on the server.")
    seen: set[str] = set()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in Path(relative).parts):
            continue
        for entry in _entries(relative, path.read_bytes()):
            seen.add(entry.name)
            _document_upsert(
                source=source,
                batch=batch,
                external_id=entry.name,
                data=entry.data,
                file_name=entry.name,
                error=entry.error,
                counts=counts,
            )
    return seen


def _discover_sql(source: DataSource, batch: IngestionBatch, counts: _Upsert) -> set[str]:
    import sqlalchemy
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    template = Engine(autoescape=False).from_string(source.row_template)
    timeout = int(getattr(settings, "RAG_SQL_CONNECT_TIMEOUT", 10))
    try:
        url = sqlalchemy.make_url(source.connection_url)
        connect_args = {"connect_timeout": timeout} if url.get_backend_name() == "postgresql" else {}
        engine = sqlalchemy.create_engine(url, connect_args=connect_args, poolclass=NullPool)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise parsers.ParseError(f"The connection URL is not valid: {exc}") from exc
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise parsers.ParseError(f"Cannot connect to the database: {reason}. Check the URL and the network.") from exc
    try:
        rows = [dict(row._mapping) for row in conn.execute(sqlalchemy.text(source.query))]
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise parsers.ParseError(f"The query failed: {reason}. Fix the query and sync again.") from exc
    finally:
        conn.close()
        engine.dispose()
    seen: set[str] = set()
    for row in rows:
        if source.key_column not in row:
            raise parsers.ParseError(f"The query returns no column named {source.key_column!r} (the key column).")
        key = str(row[source.key_column])
        seen.add(key)
        text = template.render(Context(row))
        title = str(row.get(source.title_column, "")) if source.title_column else ""
        _document_upsert(
            source=source,
            batch=batch,
            external_id=key,
            data=text.encode(),
            file_name=f"{key}.txt",
            title=title,
            counts=counts,
        )
    return seen


@transaction.atomic
def source_discover(*, batch: IngestionBatch) -> None:
    """Read a folder or SQL source into documents: new and changed ones join the batch, removed ones go."""
    source = batch.source
    assert source is not None
    counts = _Upsert()
    seen = (_discover_folder if source.kind == DataSource.Kind.FOLDER else _discover_sql)(source, batch, counts)
    removed = source.documents.exclude(external_id__in=seen)
    for doc in removed:
        if doc.content:
            doc.content.delete(save=False)
    removed.delete()
    DataSource.objects.filter(pk=source.pk).update(last_synced_at=timezone.now(), last_error="")
    _batch_count(batch, counts, close=False)


@transaction.atomic
def document_retry(*, document: Document, actor: Any = None) -> IngestionBatch:
    batch = _batch_new(
        knowledge_base=document.knowledge_base, source=None, label=f"Retry of {document.external_id}", actor=actor
    )
    Document.objects.filter(pk=document.pk).update(
        batch=batch, status=Document.Status.PENDING, error="", error_detail="", ingested_hash=""
    )
    batch.total = 1
    batch.save(update_fields=["total"])
    jobs.enqueue(batch)
    return batch


@transaction.atomic
def knowledge_base_reindex(*, knowledge_base: KnowledgeBase, actor: Any = None) -> IngestionBatch:
    """Re-chunk and re-embed every document (after a chunking change or a new embedding model)."""
    batch = _batch_new(knowledge_base=knowledge_base, source=None, label="Re-index", actor=actor)
    docs = knowledge_base.documents.exclude(content="")
    batch.total = docs.update(batch=batch, status=Document.Status.PENDING, error="", error_detail="", ingested_hash="")
    batch.save(update_fields=["total"])
    jobs.enqueue(batch)
    return batch


# --- the pipeline --------------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    document: Document
    drafts: list[ChunkDraft]
    parsed: parsers.ParsedDocument


def _prepare(doc: Document, kb: KnowledgeBase) -> _Prepared:
    with doc.content.open("rb") as handle:
        data = handle.read()
    parsed = parsers.parse(name=doc.file_name or doc.external_id, data=data)
    drafts = chunk_segments(
        parsed.segments, chunk_size=kb.chunk_size, chunk_overlap=kb.chunk_overlap, token_based=kb.token_chunking
    )
    return _Prepared(document=doc, drafts=drafts, parsed=parsed)


def _fail(batch: IngestionBatch, doc: Document, message: str, *, detail: str = "") -> bool:
    """Mark the document failed: ``message`` for everyone who sees it, ``detail`` (may name hosts) for staff only."""
    with transaction.atomic():
        Document.objects.filter(pk=doc.pk).update(
            status=Document.Status.FAILED, error=message, error_detail=detail, attempts=F("attempts") + 1
        )
        IngestionBatch.objects.filter(pk=batch.pk).update(failed_count=F("failed_count") + 1)
        return jobs.heartbeat(batch, progress=F("progress") + 1, step=f"Could not read {doc.external_id}")


@transaction.atomic
def _store_document(batch: IngestionBatch, item: _Prepared, vectors: dict[int, Any], kb: KnowledgeBase) -> bool:
    """Replace one document's chunks and vectors and mark it ready, all or nothing; False when asked to stop."""
    doc = Document.objects.select_for_update().get(pk=item.document.pk)
    # A redelivered task may find the document already stored with this very content: leave it be.
    if doc.status == Document.Status.READY and doc.ingested_hash == doc.content_hash:
        return jobs.heartbeat(batch, step=f"Stored {doc.external_id}")
    Chunk.objects.filter(document=doc).delete()
    chunks = Chunk.objects.bulk_create(
        Chunk(
            document=doc,
            knowledge_base=kb,
            index=d.index,
            text=d.text,
            page=d.page,
            heading_path=d.heading_path,
            char_start=d.char_start,
            char_end=d.char_end,
        )
        for d in item.drafts
    )
    Chunk.objects.filter(pk__in=[c.pk for c in chunks]).update(
        search_vector=SearchVector("text", config=kb.text_search_config)
    )
    ChunkEmbedding.objects.bulk_create(
        ChunkEmbedding(chunk=chunk, model_id=model_id, knowledge_base=kb, embedding=rows[i])
        for model_id, rows in vectors.items()
        for i, chunk in enumerate(chunks)
    )
    parsed = item.parsed
    doc.status, doc.error, doc.error_detail = Document.Status.READY, "", ""
    doc.chunk_count = len(item.drafts)
    doc.ingested_hash, doc.ingested_at = doc.content_hash, timezone.now()
    doc.mime_type = parsed.mime_type
    doc.title = doc.title or parsed.title[:500]
    doc.page_count = parsed.page_count
    doc.document_date = parsed.document_date or doc.document_date
    doc.metadata = {**doc.metadata, **parsed.metadata}
    doc.attempts += 1
    doc.save(update_fields=[*_STORED_FIELDS, "updated_at"])
    return jobs.heartbeat(batch, progress=F("progress") + 1, step=f"Stored {doc.external_id}")


_STORED_FIELDS = ["status", "error", "error_detail", "chunk_count", "ingested_hash", "ingested_at", "mime_type"]
_STORED_FIELDS += ["title", "page_count", "document_date", "metadata", "attempts"]


def _groups(docs: list[Document], kb: KnowledgeBase, batch: IngestionBatch) -> Iterable[list[_Prepared]]:
    """Read and chunk documents, yielding groups to embed together; stops early when a cancel was requested."""
    # Documents are embedded together until a group has enough chunks to keep the model's batches full.
    target = int(getattr(settings, "RAG_EMBED_GROUP_CHUNKS", 512))
    group: list[_Prepared] = []
    size = 0
    for doc in docs:
        if not jobs.heartbeat(batch, step=f"Reading {doc.external_id}"):
            return
        try:
            item = _prepare(doc, kb)
        except parsers.ParseError as exc:
            if not _fail(batch, doc, str(exc)):
                return
            continue
        except Exception as exc:
            logger.exception("parsing %s failed", doc.external_id)
            detail = f"{type(exc).__name__}: {exc}"
            if not _fail(batch, doc, UNREADABLE, detail=f"The file could not be read: {detail}"):
                return
            continue
        group.append(item)
        size += len(item.drafts)
        if size >= target:
            yield _mark_processing(group)
            group, size = [], 0
    if group:
        yield _mark_processing(group)


def _mark_processing(group: list[_Prepared]) -> list[_Prepared]:
    Document.objects.filter(pk__in=[item.document.pk for item in group]).update(status=Document.Status.PROCESSING)
    return group


def _embed_and_store(batch: IngestionBatch, group: list[_Prepared], models: list[Any], kb: KnowledgeBase) -> bool:
    texts = [d.text for item in group for d in item.drafts]
    if not jobs.heartbeat(batch, step=f"Embedding {len(texts)} passages of {len(group)} document(s)"):
        return False
    try:
        matrices = {m.pk: embed_documents(m, texts) for m in models}
    except EmbeddingError as exc:
        # Every one fails, then ask about stopping.
        go_on = [_fail(batch, item.document, exc.public_message, detail=str(exc)) for item in group]
        return all(go_on)
    offset = 0
    for item in group:
        vectors = {model_id: matrix[offset : offset + len(item.drafts)] for model_id, matrix in matrices.items()}
        offset += len(item.drafts)
        if not _store_document(batch, item, vectors, kb):
            return False
    return True


def batch_work(batch: IngestionBatch) -> None:
    """Process a claimed (running) batch to the end or to a cancel; safe to run again after a crash."""
    batch = jobs.held(batch, IngestionBatch.objects.select_related("knowledge_base", "source").get(pk=batch.pk))
    kb = batch.knowledge_base
    if batch.source and batch.source.kind in {DataSource.Kind.FOLDER, DataSource.Kind.SQL}:
        jobs.heartbeat(batch, step=f"Reading {batch.source.name}")
        try:
            source_discover(batch=batch)
        except parsers.ParseError as exc:
            DataSource.objects.filter(pk=batch.source.pk).update(last_error=str(exc))
            jobs.fail(batch, SOURCE_UNREADABLE, detail=str(exc))
            return
    models = list(kb.embedding_models.all())
    docs = list(batch.documents.filter(status__in=[Document.Status.PENDING, Document.Status.PROCESSING]).order_by("pk"))
    for group in _groups(docs, kb, batch):
        if not _embed_and_store(batch, group, models, kb):
            break
    batch_finish(batch=batch)


def batch_run(*, batch_id: int) -> IngestionBatch | None:
    """Claim and run a queued batch in this process (the import command, the seed, benchmarks)."""
    return jobs.execute(IngestionBatch, batch_id, batch_work)


@transaction.atomic
def batch_finish(*, batch: IngestionBatch) -> None:
    """Count what the batch did and record its end: succeeded, or cancelled with the stored documents kept."""
    docs = batch.documents.all()
    # Read but not stored when a cancel stopped the batch: waiting again, for a retry to pick up.
    docs.filter(status=Document.Status.PROCESSING).update(status=Document.Status.PENDING)
    batch.total = max(batch.total, docs.count())
    batch.progress = docs.filter(status__in=[Document.Status.READY, Document.Status.FAILED]).count()
    batch.failed_count = docs.filter(status=Document.Status.FAILED).count()
    batch.last_error = f"{batch.failed_count} document(s) failed; see each one's error." if batch.failed_count else ""
    batch.save(update_fields=["total", "progress", "failed_count", "last_error"])
    jobs.finish(batch)
