from __future__ import annotations

from django.urls import include, path

from rag import views

app_name = "rag"
urlpatterns = [
    path("", views.index, name="index"),
    path("", include("rag.prototypes.urls")),
    path("kb/<uuid:uuid>/", views.kb_detail, name="kb-detail"),
    path("kb/<uuid:uuid>/documents/", views.kb_documents, name="kb-documents"),
    path("kb/<uuid:uuid>/upload/", views.kb_upload, name="kb-upload"),
    path("kb/<uuid:uuid>/sql-sources/", views.sql_source_create, name="sql-source-create"),
    path("kb/<uuid:uuid>/playground/", views.playground, name="playground"),
    path("kb/<uuid:uuid>/embedding-models/", views.embedding_endpoint_add, name="embedding-endpoint-add"),
    path("sources/<uuid:uuid>/sync/", views.source_sync, name="source-sync"),
    path("documents/<uuid:uuid>/", views.document_chunks, name="document"),
    path("documents/<uuid:uuid>/retry/", views.document_retry, name="document-retry"),
    path("documents/<uuid:uuid>/chunks/<int:index>/toggle/", views.chunk_toggle, name="chunk-toggle"),
    path("documents/<uuid:uuid>/chunks/<int:index>/edit/", views.chunk_edit, name="chunk-edit"),
]
