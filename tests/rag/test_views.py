from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from rag.models import Chunk, Document, IngestionBatch, KnowledgeBase
from rag.services import ingest
from tests.rag import files
from tests.rag.conftest import run_batch


@pytest.fixture
def indexed(kb: KnowledgeBase) -> KnowledgeBase:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("damage.md", files.POLICY_MD.encode())]))
    return kb


def _urls(kb: KnowledgeBase) -> list[str]:
    doc = kb.documents.first()
    assert doc is not None
    return [
        reverse("rag:kb-detail", args=[kb.uuid]),
        reverse("rag:kb-documents", args=[kb.uuid]),
        reverse("rag:playground", args=[kb.uuid]) + "?query=refunds",
        reverse("rag:document", args=[doc.uuid]),
    ]


def test_owner_sees_every_page(fde_http: HttpClient, indexed: KnowledgeBase) -> None:
    for url in _urls(indexed):
        assert fde_http.get(url).status_code == 200, url


def test_client_member_and_outsider_get_404_everywhere(
    member_http: HttpClient, outsider_http: HttpClient, indexed: KnowledgeBase
) -> None:
    doc = indexed.documents.get()
    posts = [
        reverse("rag:kb-upload", args=[indexed.uuid]),
        reverse("rag:document-retry", args=[doc.uuid]),
        reverse("rag:chunk-toggle", args=[doc.uuid, 0]),
    ]
    for http in (member_http, outsider_http):
        for url in [reverse("rag:index"), *_urls(indexed)]:
            assert http.get(url).status_code == 404, url
        for url in posts:
            assert http.post(url).status_code == 404, url


def test_unassigned_fde_can_read_but_not_change(other_fde: Any, indexed: KnowledgeBase) -> None:
    http = HttpClient()
    http.force_login(other_fde)
    assert http.get(reverse("rag:kb-detail", args=[indexed.uuid])).status_code == 200
    doc = indexed.documents.get()
    assert http.post(reverse("rag:chunk-toggle", args=[doc.uuid, 0])).status_code == 403


def test_index_groups_bases_by_engagement_in_constant_queries(
    fde_http: HttpClient, indexed: KnowledgeBase, django_assert_max_num_queries: Any
) -> None:
    from rag.services.knowledge_base import knowledge_base_create

    for i in range(3):
        knowledge_base_create(engagement=indexed.engagement, name=f"Extra {i}")
    with django_assert_max_num_queries(8):
        response = fde_http.get(reverse("rag:index"))
    assert response.content.decode().count('/playground/"') == 4


def test_create_knowledge_base_from_the_index(fde_http: HttpClient, engagement: Any) -> None:
    sizes = {"chunk_size": "400", "chunk_overlap": "40", "token_chunking": "on"}
    response = fde_http.post(
        reverse("rag:index"),
        {"engagement": engagement.pk, "name": "Contracts", "text_search_config": "german", **sizes},
    )
    kb = KnowledgeBase.objects.get(name="Contracts")
    assert (kb.text_search_config, kb.chunk_size, kb.token_chunking) == ("german", 400, True)
    assert response.status_code == 302 and response["Location"] == reverse("rag:kb-detail", args=[kb.uuid])
    again = fde_http.post(
        reverse("rag:index"),
        {"engagement": engagement.pk, "name": "Contracts", "text_search_config": "simple", **sizes},
    )
    assert "already has a knowledge base with that name" in again.content.decode()


def test_upload_queues_a_batch_and_returns_its_progress_partial(
    fde_http: HttpClient, kb: KnowledgeBase, django_capture_on_commit_callbacks: Any
) -> None:
    uploads = [
        SimpleUploadedFile("a.md", b"# A\n\nalpha"),
        SimpleUploadedFile("b.zip", files.make_zip({"c.txt": b"gamma", "d.txt": b""})),
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = fde_http.post(
            reverse("rag:kb-upload", args=[kb.uuid]), {"documents": uploads}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200 and 'id="batch-status"' in response.content.decode()
    assert "documents-changed" in response["HX-Trigger"]
    assert len(callbacks) == 1
    batch = IngestionBatch.objects.get(knowledge_base=kb)
    assert (batch.total, batch.progress) == (3, 0)
    run_batch(batch)
    poll = fde_http.get(reverse("jobs:progress", args=["ingestion", batch.uuid]), HTTP_HX_REQUEST="true")
    assert poll.status_code == 286 and "3 / 3 documents" in poll.content.decode()
    assert 'data-job-status="succeeded"' in poll.content.decode() and "documents-changed" in poll["HX-Trigger"]


def test_failed_document_shows_its_error_and_a_retry_button(fde_http: HttpClient, kb: KnowledgeBase) -> None:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("latin.txt", "Prämie".encode("latin-1"))]))
    html = fde_http.get(reverse("rag:kb-documents", args=[kb.uuid])).content.decode()
    doc = kb.documents.get()
    assert "not UTF-8" in html and reverse("rag:document-retry", args=[doc.uuid]) in html
    response = fde_http.post(reverse("rag:document-retry", args=[doc.uuid]))
    assert response.status_code == 200
    assert Document.objects.get(pk=doc.pk).status == Document.Status.PENDING


def test_a_file_of_an_unsupported_type_offers_no_retry(fde_http: HttpClient, kb: KnowledgeBase) -> None:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[("blob", bytes(range(256)) * 8)]))
    html = fde_http.get(reverse("rag:kb-documents", args=[kb.uuid])).content.decode()
    doc = kb.documents.get()
    assert doc.status == Document.Status.FAILED and "not supported" in html
    assert reverse("rag:document-retry", args=[doc.uuid]) not in html and "upload a corrected file" in html


def test_chunk_inspector_disables_and_edits_a_chunk(fde_http: HttpClient, indexed: KnowledgeBase) -> None:
    doc = indexed.documents.get()
    page = fde_http.get(reverse("rag:document", args=[doc.uuid])).content.decode()
    assert "chars 0–" in page and "Damage claims policy › Refunds" in page
    toggled = fde_http.post(reverse("rag:chunk-toggle", args=[doc.uuid, 0]))
    assert "disabled" in toggled.content.decode() and Chunk.objects.get(document=doc, index=0).is_disabled
    edited = fde_http.post(reverse("rag:chunk-edit", args=[doc.uuid, 1]), {"text": "Photos of pallet damage."})
    assert "edited" in edited.content.decode()
    from rag.services.search import search

    hit = search(knowledge_base=indexed, query="pallet", mode="keyword").hits[0]
    assert hit.text == "Photos of pallet damage."


def test_playground_shows_scores_and_step_times(fde_http: HttpClient, indexed: KnowledgeBase) -> None:
    url = reverse("rag:playground", args=[indexed.uuid])
    params = {"mode": "hybrid", "top_k": "3", "vector_weight": "1", "keyword_weight": "1"}
    params["embedding_model"] = "minilm-l6-v2"
    html = fde_http.get(url, {**params, "query": "how are refunds paid"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="results-table"' in html and "Embedding" in html and "Refunds" in html
    old_only = {**params, "query": "how are refunds paid", "date_to": "2001-01-01"}
    assert "Nothing matched" in fde_http.get(url, old_only, HTTP_HX_REQUEST="true").content.decode()
    bad = fde_http.get(url, {**params, "query": "x", "rerank": "on"}, HTTP_HX_REQUEST="true")
    assert "No reranker is configured" in bad.content.decode()


def test_playground_with_a_down_embeddings_endpoint_shows_the_error(
    fde_http: HttpClient, indexed: KnowledgeBase
) -> None:
    from rag.services.knowledge_base import embedding_model_register, knowledge_base_add_embedding_model

    down = embedding_model_register(
        key="down", label="Down", model_name="e5", dimensions=384, base_url="http://127.0.0.1:9/v1"
    )
    knowledge_base_add_embedding_model(knowledge_base=indexed, model=down)
    params = {"query": "refunds", "mode": "hybrid", "top_k": "3", "vector_weight": "1", "keyword_weight": "1"}
    response = fde_http.get(
        reverse("rag:playground", args=[indexed.uuid]), {**params, "embedding_model": "down"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "http://127.0.0.1:9/v1 failed" in response.content.decode()


def test_sql_source_form_stores_the_url_encrypted_and_queues_a_sync(
    fde_http: HttpClient, kb: KnowledgeBase, django_capture_on_commit_callbacks: Any
) -> None:
    form = {
        "name": "CRM",
        "connection_url": "postgresql+psycopg://crm:s3cret@db.acme.internal/crm",
        "query": "SELECT id, body FROM notes",
        "key_column": "id",
        "row_template": "{{ body }}",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = fde_http.post(reverse("rag:sql-source-create", args=[kb.uuid]), form)
    assert response.status_code == 302 and len(callbacks) == 1
    source = kb.sources.get(name="CRM")
    assert "s3cret" not in source.connection_url_encrypted and source.connection_url.endswith("/crm")
    page = fde_http.get(reverse("rag:kb-detail", args=[kb.uuid])).content.decode()
    assert "s3cret" not in page and "CRM" in page
