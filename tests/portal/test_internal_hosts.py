from __future__ import annotations

import socket
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from jobs import services as job_services
from rag.models import DataSource, Document, IngestionBatch, KnowledgeBase
from rag.services import ingest
from rag.services.knowledge_base import knowledge_base_create, knowledge_base_index_with_endpoint
from tests.rag.conftest import run_batch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dead_url(closed_port: int) -> str:
    return f"http://127.0.0.1:{closed_port}/v1"


@pytest.fixture
def kb(engagement: Any, fde: Any, dead_url: str) -> KnowledgeBase:
    kb = knowledge_base_create(engagement=engagement, name="Shared policies", actor=fde)
    knowledge_base_index_with_endpoint(
        knowledge_base=kb, label="Inhouse embedder", base_url=dead_url, model_name="e5", dimensions=384
    )
    return kb


@pytest.fixture
def admin_http(client_admin: Any) -> HttpClient:
    http = HttpClient()
    http.force_login(client_admin)
    return http


def _upload(admin_http: HttpClient, kb: KnowledgeBase) -> IngestionBatch:
    files = [SimpleUploadedFile("claims.md", b"# Claims\n\nFile within 14 days of delivery.")]
    response = admin_http.post(f"/portal/knowledge-bases/{kb.uuid}/upload/", {"documents": files})
    assert response.status_code == 200
    return run_batch(IngestionBatch.objects.filter(knowledge_base=kb).latest("queued_at"))


def _pages(http: HttpClient, kb: KnowledgeBase, batch: IngestionBatch) -> dict[str, str]:
    urls = {
        "page": f"/portal/knowledge-bases/{kb.uuid}/",
        "documents": f"/portal/knowledge-bases/{kb.uuid}/documents/",
        "progress": f"/portal/uploads/{batch.uuid}/",
        "api documents": f"/api/rag/knowledge-bases/{kb.uuid}/documents",
        "api batch": f"/api/rag/batches/{batch.uuid}",
    }
    shown = {}
    for name, url in urls.items():
        response = http.get(url)
        assert response.status_code == 200, name
        shown[name] = response.content.decode()
    return shown


def test_a_dead_embedding_endpoint_tells_the_client_admin_what_happens_but_not_its_address(
    admin_http: HttpClient, fde_http: HttpClient, kb: KnowledgeBase, dead_url: str, closed_port: int
) -> None:
    batch = _upload(admin_http, kb)
    document = Document.objects.get(knowledge_base=kb)
    assert document.status == Document.Status.FAILED and dead_url in document.error_detail

    shown = _pages(admin_http, kb, batch)
    for name in ("page", "documents", "api documents"):
        assert "not answering right now" in shown[name] and "no need to upload it again" in shown[name], name
    for name, text in shown.items():
        assert dead_url not in text and f":{closed_port}" not in text, name
    staff_page = fde_http.get(f"/rag/kb/{kb.uuid}/").content.decode()
    assert dead_url in staff_page
    staff_api = fde_http.get(f"/api/rag/knowledge-bases/{kb.uuid}/documents").json()
    assert dead_url in staff_api[0]["error"]


def test_an_upload_job_that_crashes_on_a_server_error_shows_the_client_no_address(
    admin_http: HttpClient, fde_http: HttpClient, kb: KnowledgeBase, dead_url: str, closed_port: int
) -> None:
    batch = _upload(admin_http, kb)
    ingest.document_retry(document=Document.objects.get(knowledge_base=kb))
    retry = IngestionBatch.objects.filter(knowledge_base=kb).latest("queued_at")

    def crash(job: IngestionBatch) -> None:
        raise ConnectionError(f"Lost the connection to {dead_url} while storing passages")

    with pytest.raises(ConnectionError):
        job_services.execute(IngestionBatch, retry.pk, crash)
    retry.refresh_from_db()
    assert retry.status == IngestionBatch.Status.FAILED and dead_url in retry.last_error_detail

    for name, shown in _pages(admin_http, kb, retry).items():
        assert dead_url not in shown and f":{closed_port}" not in shown, name
    client_progress = admin_http.get(f"/portal/uploads/{retry.uuid}/").content.decode()
    assert "unexpected error" in client_progress and "engagement team" in client_progress
    assert dead_url in fde_http.get(f"/rag/kb/{kb.uuid}/").content.decode()
    assert dead_url in fde_http.get(f"/api/rag/batches/{retry.uuid}").json()["last_error"]
    assert batch.pk != retry.pk


def test_a_source_whose_database_is_down_shows_the_client_no_address(
    admin_http: HttpClient, fde_http: HttpClient, kb: KnowledgeBase, closed_port: int
) -> None:
    source = ingest.source_create_sql(
        knowledge_base=kb,
        name="Claims database",
        connection_url=f"postgresql+psycopg://reader:pw@127.0.0.1:{closed_port}/claims",
        query="SELECT 1",
        key_column="id",
        row_template="x",
    )
    batch = run_batch(ingest.source_sync(source=source))
    assert batch.status == IngestionBatch.Status.FAILED and str(closed_port) in batch.last_error_detail
    assert DataSource.objects.filter(pk=source.pk, last_error__contains=str(closed_port)).exists()

    for name, shown in _pages(admin_http, kb, batch).items():
        assert str(closed_port) not in shown and "127.0.0.1" not in shown, name
    assert "could not be read" in admin_http.get(f"/portal/knowledge-bases/{kb.uuid}/").content.decode()
    assert str(closed_port) in fde_http.get(f"/rag/kb/{kb.uuid}/").content.decode()
