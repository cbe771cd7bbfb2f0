from __future__ import annotations

from django.contrib import admin

from rag.models import Chunk, DataSource, Document, EmbeddingModel, IngestionBatch, KnowledgeBase


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(admin.ModelAdmin):
    list_display = ["name", "engagement", "text_search_config", "created_at"]
    search_fields = ["name", "engagement__name"]


@admin.register(EmbeddingModel)
class EmbeddingModelAdmin(admin.ModelAdmin):
    list_display = ["key", "label", "kind", "dimensions"]


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
    list_display = ["uuid", "knowledge_base", "status", "progress", "total", "attempts", "created_at"]
    list_filter = ["status"]


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ["document", "index", "page", "heading_path", "is_disabled"]
    raw_id_fields = ["document"]
