from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from accounts.services import api_token_create
from rag.models import KnowledgeBase
from rag.services import ingest
from tests.rag import files
from tests.rag.conftest import run_batch


@pytest.fixture
def indexed(kb: KnowledgeBase) -> KnowledgeBase:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("damage.md", files.POLICY_MD.encode())]))
    return kb


def _search(http: HttpClient, kb: KnowledgeBase, **body: Any) -> Any:
    return http.post(f"/api/rag/knowledge-bases/{kb.uuid}/search", json.dumps(body), content_type="application/json")


def test_bearer_token_lists_bases_and_documents(fde: Any, indexed: KnowledgeBase) -> None:
    _, raw = api_token_create(user=fde, name="ci")
    http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    bases = http.get("/api/rag/knowledge-bases").json()
    assert [b["name"] for b in bases] == ["Policies"] and bases[0]["ready_count"] == 1
    docs = http.get(f"/api/rag/knowledge-bases/{indexed.uuid}/documents").json()
    assert docs[0]["external_id"] == "damage.md" and docs[0]["status"] == "ready" and docs[0]["chunk_count"] > 0


def test_search_returns_scores_provenance_and_timings(fde_http: HttpClient, indexed: KnowledgeBase) -> None:
    body = _search(fde_http, indexed, query="refunds payment method", top_k=2).json()
    hit = body["hits"][0]
    assert hit["external_id"] == "damage.md" and "Refunds" in hit["heading_path"]
    assert hit["vector_score"] is not None and hit["fused_score"] > 0
    assert body["timings"]["total_ms"] >= body["timings"]["vector_ms"]


def test_bad_search_gets_422_with_the_reason(fde_http: HttpClient, indexed: KnowledgeBase) -> None:
    response = _search(fde_http, indexed, query="x", mode="fuzzy")
    assert response.status_code == 422 and "Unknown search mode" in response.json()["detail"]


def test_upload_returns_a_batch_to_follow(
    fde_http: HttpClient, kb: KnowledgeBase, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        response = fde_http.post(
            f"/api/rag/knowledge-bases/{kb.uuid}/documents",
            {"files": [SimpleUploadedFile("a.md", b"# A\n\nalpha"), SimpleUploadedFile("b.txt", b"beta")]},
        )
    assert response.status_code == 202, response.content
    batch = response.json()
    assert (batch["status"], batch["total"]) == ("queued", 2)
    assert fde_http.get(f"/api/rag/batches/{batch['uuid']}").json()["uuid"] == batch["uuid"]


def test_client_member_may_read_and_search_but_not_upload(member_http: HttpClient, indexed: KnowledgeBase) -> None:
    assert member_http.get(f"/api/rag/knowledge-bases/{indexed.uuid}/documents").status_code == 200
    assert _search(member_http, indexed, query="refunds").status_code == 200
    upload = member_http.post(
        f"/api/rag/knowledge-bases/{indexed.uuid}/documents", {"files": [SimpleUploadedFile("a.md", b"x")]}
    )
    assert upload.status_code == 403


def test_outsider_gets_404_and_an_empty_list(outsider_http: HttpClient, indexed: KnowledgeBase) -> None:
    assert outsider_http.get("/api/rag/knowledge-bases").json() == []
    assert outsider_http.get(f"/api/rag/knowledge-bases/{indexed.uuid}/documents").status_code == 404
    assert _search(outsider_http, indexed, query="refunds").status_code == 404
    batch = indexed.batches.get()
    assert outsider_http.get(f"/api/rag/batches/{batch.uuid}").status_code == 404
    upload = outsider_http.post(
        f"/api/rag/knowledge-bases/{indexed.uuid}/documents", {"files": [SimpleUploadedFile("a.md", b"x")]}
    )
    assert upload.status_code == 404
