from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs.models import JobStatus
from rag.models import Chunk, ChunkEmbedding, DataSource, Document, KnowledgeBase
from rag.services import ingest
from rag.services.knowledge_base import embedding_model_register, knowledge_base_add_embedding_model
from tests.rag import files
from tests.rag.conftest import run_batch

BAD_FILES = {
    "corrupt.pdf": files.make_pdf(["x"])[:150],
    "locked.pdf": files.make_pdf(["secret"], password="pw"),
    "empty.txt": b"",
    "photo.pdf": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    "tool.exe": b"MZ\x90\x00",
    "latin.txt": "Prämie für Schäden".encode("latin-1"),
    "app.html": b"<html><body>" + b"<script>render()</script>" * 20 + b"</body></html>",
    "wide.csv": b"a,b" + b"," * 1_000_000 + b"\n1,2\n",
    "bomb.zip": files.make_zip_bomb(),
    "nested.zip": files.make_nested_zip(3),
}


def _statuses(kb: KnowledgeBase) -> dict[str, tuple[str, str]]:
    return {d.external_id: (d.status, d.error) for d in kb.documents.all()}


def test_upload_ingests_every_format_with_provenance(kb: KnowledgeBase) -> None:
    uploads = [
        ("policy.md", files.POLICY_MD.encode()),
        ("terms.pdf", files.make_pdf(["Liability is capped at 8.33 SDR per kg.", "Photos are required."])),
        ("returns.docx", files.make_docx("Returns", {"Window": "Return within 30 days."})),
        ("claim.eml", files.make_eml("Claim 4411", "The pallet arrived crushed.")),
        ("archive.zip", files.make_zip({"faq/rates.csv": b"carrier,sla\nDHL,48h\n", "faq/a.jsonl": b'{"q":"x"}\n'})),
    ]
    batch = run_batch(ingest.documents_add_files(knowledge_base=kb, files=uploads))
    assert batch.status == JobStatus.SUCCEEDED
    assert (batch.progress, batch.total, batch.failed_count) == (6, 6, 0)
    assert set(_statuses(kb)) == {
        "policy.md",
        "terms.pdf",
        "returns.docx",
        "claim.eml",
        "archive.zip/faq/rates.csv",
        "archive.zip/faq/a.jsonl",
    }
    pdf_pages = set(Chunk.objects.filter(document__external_id="terms.pdf").values_list("page", flat=True))
    assert pdf_pages == {1, 2}
    headings = set(Chunk.objects.filter(document__external_id="policy.md").values_list("heading_path", flat=True))
    assert "Damage claims policy › Refunds" in headings
    assert ChunkEmbedding.objects.filter(knowledge_base=kb).count() == Chunk.objects.filter(knowledge_base=kb).count()
    eml = kb.documents.get(external_id="claim.eml")
    assert eml.title == "Claim 4411" and eml.document_date is not None


def test_each_bad_file_gets_its_own_error_and_the_rest_completes(kb: KnowledgeBase) -> None:
    uploads = [*BAD_FILES.items(), ("good.md", files.POLICY_MD.encode())]
    batch = run_batch(ingest.documents_add_files(knowledge_base=kb, files=uploads))
    statuses = _statuses(kb)
    assert statuses["good.md"][0] == Document.Status.READY
    failed = {name: error for name, (status, error) in statuses.items() if status == Document.Status.FAILED}
    expected = {
        "corrupt.pdf": "damaged",
        "locked.pdf": "password-protected",
        "empty.txt": "empty",
        "photo.pdf": "holds image/png",
        "tool.exe": "not supported",
        "latin.txt": "not UTF-8",
        "app.html": "no readable text",
        "wide.csv": "columns",
        "bomb.zip": "zip bomb",
    }
    for name, fragment in expected.items():
        assert fragment in failed[name], (name, failed.get(name))
    assert any("nested more than" in error for name, error in failed.items() if name.startswith("nested.zip"))
    assert batch.status == JobStatus.SUCCEEDED and batch.failed_count == len(failed) and batch.progress == batch.total


def test_file_over_the_size_limit_fails_alone(kb: KnowledgeBase, settings: Any) -> None:
    settings.RAG_MAX_FILE_BYTES = 2000
    batch = run_batch(
        ingest.documents_add_files(knowledge_base=kb, files=[("big.txt", b"a " * 2000), ("ok.md", b"# Ok\n\nfine")])
    )
    statuses = _statuses(kb)
    assert "over the" in statuses["big.txt"][1] and statuses["ok.md"][0] == Document.Status.READY
    assert batch.failed_count == 1
    assert not kb.documents.get(external_id="big.txt").content, "a refused file must never reach storage"


def test_archive_members_that_climb_out_are_reported_as_refused(kb: KnowledgeBase) -> None:
    archive = files.make_zip({"../../etc/evil.md": b"# Evil", "/abs.md": b"# Abs", "ok/a.md": b"# A\n\nfine"})
    batch = run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("up.zip", archive)]))
    statuses = _statuses(kb)
    assert statuses["up.zip/ok/a.md"][0] == Document.Status.READY
    refused = {name: error for name, (status, error) in statuses.items() if status == Document.Status.FAILED}
    assert set(refused) == {"up.zip/../../etc/evil.md", "up.zip//abs.md"}
    assert all("outside the archive" in error for error in refused.values())
    assert batch.failed_count == 2


def test_reupload_skips_unchanged_and_replaces_changed_chunks(kb: KnowledgeBase) -> None:
    run_batch(
        ingest.documents_add_files(knowledge_base=kb, files=[("a.md", b"# A\n\nalpha"), ("b.md", b"# B\n\nbeta")])
    )
    old_chunk_ids = set(Chunk.objects.filter(document__external_id="b.md").values_list("pk", flat=True))
    batch = ingest.documents_add_files(
        knowledge_base=kb, files=[("a.md", b"# A\n\nalpha"), ("b.md", b"# B\n\nbeta, revised")]
    )
    assert (batch.total, batch.skipped_count) == (1, 1)
    run_batch(batch)
    new_chunks = Chunk.objects.filter(document__external_id="b.md")
    assert "revised" in new_chunks.get().text
    assert not old_chunk_ids & set(new_chunks.values_list("pk", flat=True))


def test_folder_sync_uses_relative_paths_and_removes_deleted_files(kb: KnowledgeBase, tmp_path: Path) -> None:
    folder = tmp_path / "share"
    (folder / "contracts").mkdir(parents=True)
    (folder / "contracts" / "acme.md").write_text("# Acme\n\nNet 30 payment terms.")
    (folder / "readme.txt").write_text("Index of the share.")
    source = ingest.source_create_folder(knowledge_base=kb, path=str(folder))
    run_batch(ingest.source_sync(source=source))
    assert set(_statuses(kb)) == {"contracts/acme.md", "readme.txt"}
    (folder / "readme.txt").unlink()
    (folder / "contracts" / "acme.md").write_text("# Acme\n\nNet 45 payment terms.")
    batch = run_batch(ingest.source_sync(source=source))
    assert set(_statuses(kb)) == {"contracts/acme.md"}
    assert "Net 45" in Chunk.objects.get(document__external_id="contracts/acme.md").text
    assert batch.total == 1


def test_sql_source_turns_rows_into_documents_and_resyncs_changes(kb: KnowledgeBase, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "client.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE faq (id integer primary key, title text, body text)")
        conn.executemany("INSERT INTO faq VALUES (?, ?, ?)", [(1, "Late", "Refund 10%."), (2, "Lost", "Full refund.")])
    source = ingest.source_create_sql(
        knowledge_base=kb,
        name="FAQ table",
        connection_url=f"sqlite:///{path}",
        query="SELECT id, title, body FROM faq",
        key_column="id",
        title_column="title",
        row_template="{{ title }}: {{ body }}",
    )
    assert "sqlite" not in DataSource.objects.get(pk=source.pk).connection_url_encrypted
    run_batch(ingest.source_sync(source=source))
    assert {d.external_id: d.title for d in kb.documents.all()} == {"1": "Late", "2": "Lost"}
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE faq SET body = 'Refund 20%.' WHERE id = 1")
        conn.execute("DELETE FROM faq WHERE id = 2")
    batch = run_batch(ingest.source_sync(source=source))
    assert batch.total == 1
    assert Chunk.objects.get(knowledge_base=kb).text == "Late: Refund 20%."


def test_sql_source_that_cannot_connect_fails_the_batch_with_a_reason(kb: KnowledgeBase) -> None:
    source = ingest.source_create_sql(
        knowledge_base=kb,
        name="Down",
        connection_url="postgresql+psycopg://u:p@127.0.0.1:9/nope",
        query="SELECT 1",
        key_column="id",
        row_template="x",
    )
    batch = run_batch(ingest.source_sync(source=source))
    assert batch.status == JobStatus.FAILED and "Cannot connect" in batch.last_error_detail
    assert "127.0.0.1" not in batch.last_error and "could not be read" in batch.last_error
    source.refresh_from_db()
    assert "Cannot connect" in source.last_error


def test_sql_source_whose_query_fails_says_so(kb: KnowledgeBase, tmp_path: Path) -> None:
    source = ingest.source_create_sql(
        knowledge_base=kb,
        name="Bad query",
        connection_url=f"sqlite:///{tmp_path / 'x.sqlite'}",
        query="SELECT * FROM missing_table",
        key_column="id",
        row_template="x",
    )
    batch = run_batch(ingest.source_sync(source=source))
    assert batch.status == JobStatus.FAILED and "The query failed" in batch.last_error_detail
    assert "missing_table" in batch.last_error_detail


def test_two_embedding_models_index_the_same_base(kb: KnowledgeBase) -> None:
    second = embedding_model_register(
        key="minilm-copy", label="MiniLM again", kind="local", model_name="minilm", dimensions=384
    )
    knowledge_base_add_embedding_model(knowledge_base=kb, model=second)
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("a.md", files.POLICY_MD.encode())]))
    chunks = Chunk.objects.filter(knowledge_base=kb).count()
    assert ChunkEmbedding.objects.filter(model=second).count() == chunks
    assert ChunkEmbedding.objects.exclude(model=second).count() == chunks


def test_retry_reprocesses_a_failed_document(kb: KnowledgeBase) -> None:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("notes.md", b"# Notes\n\nFirst")]))
    doc = kb.documents.get()
    Document.objects.filter(pk=doc.pk).update(status=Document.Status.FAILED, error="worker lost")
    batch = run_batch(ingest.document_retry(document=doc))
    doc.refresh_from_db()
    assert (doc.status, doc.error, batch.progress) == (Document.Status.READY, "", 1)
    assert doc.chunks.count() == 1


def test_unreachable_embeddings_endpoint_fails_documents_with_the_reason(kb: KnowledgeBase) -> None:
    from rag.services.knowledge_base import knowledge_base_index_with_endpoint

    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("a.md", files.POLICY_MD.encode())]))
    model = knowledge_base_index_with_endpoint(
        knowledge_base=kb, label="Down", base_url="http://127.0.0.1:9/v1", model_name="e5", dimensions=384
    )
    assert model.kind == "openai" and kb.embedding_models.count() == 2
    batch = run_batch(kb.batches.order_by("-queued_at").first())  # type: ignore[arg-type]
    doc = kb.documents.get()
    assert doc.status == Document.Status.FAILED and "http://127.0.0.1:9/v1 failed" in doc.error_detail
    assert "127.0.0.1" not in doc.error and "not answering" in doc.error
    assert batch.failed_count == 1 and batch.status == JobStatus.SUCCEEDED
