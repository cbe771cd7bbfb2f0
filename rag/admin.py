from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from rag.models import Chunk, ChunkEmbedding, DataSource, Document, EmbeddingModel, IngestionBatch, KnowledgeBase
from rag.services.knowledge_base import ensure_hnsw_index


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin):
    list_display = ["name", "engagement", "text_search_config", "created_at"]
    search_fields = ["name", "engagement__name"]


@admin.register(EmbeddingModel)
class EmbeddingModelAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "kind", "dimensions"]

    def save_model(self, request: HttpRequest, obj: EmbeddingModel, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        ensure_hnsw_index(obj)  # a model added here needs its own vector index like one added by the service


@admin.register(DataSource)
class DataSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "knowledge_base", "kind", "last_synced_at"]
    exclude = ["connection_url_encrypted"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "knowledge_base", "status", "chunk_count", "updated_at"]
    list_filter = ["status"]
    search_fields = ["external_id", "title"]


@admin.register(IngestionBatch)
class IngestionBatchAdmin(admin.ModelAdmin):
    list_display = ["uuid", "knowledge_base", "status", "progress", "total", "attempts", "queued_at"]
    list_filter = ["status"]


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["document", "index", "page", "heading_path", "is_disabled"]
    raw_id_fields = ["document"]


@admin.register(ChunkEmbedding)
class ChunkEmbeddingAdmin(admin.ModelAdmin):
    """Read-only: vectors are written by ingestion, and a hand-edited vector would silently corrupt search."""

    list_display = ["chunk", "model", "knowledge_base"]
    list_filter = ["model"]
    list_select_related = ["chunk__document", "model", "knowledge_base"]
    raw_id_fields = ["chunk"]
    exclude = ["embedding"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
