from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from rag.models import IngestionBatch
from rag.services.knowledge_base import knowledge_base_create
from tests.rag.conftest import run_batch
from tests.ratelimits import clear_limits

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def kb(engagement, fde):
    return knowledge_base_create(engagement=engagement, name="Shared policies", actor=fde)


@pytest.fixture
def admin_http(client_admin) -> HttpClient:
    http = HttpClient()
    http.force_login(client_admin)
    return http


def test_a_client_admin_uploads_and_sees_each_files_progress_and_errors(
    admin_http, kb, django_capture_on_commit_callbacks
):
    files = [
        SimpleUploadedFile("good.md", b"# Claims\n\nFile within 14 days."),
        SimpleUploadedFile("bad.txt", "Prämie".encode("latin-1")),
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_http.post(
            f"/portal/knowledge-bases/{kb.uuid}/upload/", {"documents": files}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200 and "documents-changed" in response["HX-Trigger"]
    assert len(callbacks) == 1
    batch = IngestionBatch.objects.get(knowledge_base=kb)
    assert f"/portal/uploads/{batch.uuid}/" in response.content.decode()
    run_batch(batch)
    poll = admin_http.get(f"/portal/uploads/{batch.uuid}/", HTTP_HX_REQUEST="true")
    assert poll.status_code == 286 and "2 / 2 documents" in poll.content.decode()
    listing = admin_http.get(f"/portal/knowledge-bases/{kb.uuid}/documents/").content.decode()
    assert 'data-status="ready"' in listing and "not UTF-8" in listing


def test_a_client_member_sees_documents_but_cannot_upload(member_http, kb):
    page = member_http.get(f"/portal/knowledge-bases/{kb.uuid}/").content.decode()
    assert "Shared policies" in page and 'id="portal-upload"' not in page
    response = member_http.post(
        f"/portal/knowledge-bases/{kb.uuid}/upload/", {"documents": [SimpleUploadedFile("a.md", b"# A")]}
    )
    assert response.status_code == 403
    assert not IngestionBatch.objects.filter(knowledge_base=kb).exists()


def test_another_clients_user_never_sees_the_base(outsider_http, kb):
    assert "Shared policies" not in outsider_http.get("/portal/documents/").content.decode()
    for path in ("", "documents/"):
        assert outsider_http.get(f"/portal/knowledge-bases/{kb.uuid}/{path}").status_code == 404
    response = outsider_http.post(
        f"/portal/knowledge-bases/{kb.uuid}/upload/", {"documents": [SimpleUploadedFile("a.md", b"# A")]}
    )
    assert response.status_code == 404


def test_portal_uploads_are_rate_limited_per_user(admin_http, kb, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "upload-user": "1/hour"}
    clear_limits()
    url = f"/portal/knowledge-bases/{kb.uuid}/upload/"
    first = admin_http.post(url, {"documents": [SimpleUploadedFile("a.md", b"# A")]}, HTTP_HX_REQUEST="true")
    second = admin_http.post(url, {"documents": [SimpleUploadedFile("b.md", b"# B")]}, HTTP_HX_REQUEST="true")
    assert first.status_code == 200
    clear_limits()
    assert second.status_code == 429 and "Your uploads" in second.content.decode()
