"""Documents, their chunks and vectors, and the ingestion batches that produce them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from pgvector.django import VectorField

from jobs.models import Job
from jobs.registry import register
from rag.models.knowledge import DataSource, EmbeddingModel, KnowledgeBase


@register
class IngestionBatch(Job):
    """A job row: one run of the pipeline over a set of documents (an upload, a sync, a retry)."""

    job_kind = "ingestion"
    task_name = "rag.ingest_batch"
    stale_after = timedelta(seconds=int(getattr(settings, "RAG_BATCH_STALE_SECONDS", 300)))
    max_attempts = int(getattr(settings, "RAG_BATCH_MAX_ATTEMPTS", 3))
    unit = "documents"
    finished_event = "documents-changed"
    list_related = ("knowledge_base",)

    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="batches")
    source = models.ForeignKey(DataSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches")
    label = models.CharField(max_length=200, blank=True)
    failed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)

    class Meta(Job.Meta):
        verbose_name = "ingestion batch"
        verbose_name_plural = "ingestion batches"

    def __str__(self) -> str:
        return self.label or f"Batch {self.uuid}"

    def get_absolute_url(self) -> str:
        return reverse("rag:kb-detail", args=[self.knowledge_base.uuid])


class Document(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="documents")
    source = models.ForeignKey(DataSource, on_delete=models.CASCADE, related_name="documents")
    batch = models.ForeignKey(
        IngestionBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    external_id = models.CharField(max_length=1000, help_text="Path in the folder, file name, or the row's key.")
    title = models.CharField(max_length=500, blank=True)
    file_name = models.CharField(max_length=500, blank=True)
    content = models.FileField(upload_to="rag/documents/", blank=True, max_length=500)
    content_hash = models.CharField(max_length=64, blank=True)
    ingested_hash = models.CharField(max_length=64, blank=True, help_text="The hash whose chunks are stored.")
    size_bytes = models.PositiveBigIntegerField(default=0)
    mime_type = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True, help_text="Why it failed, as the client's users may read it.")
    error_detail = models.TextField(blank=True, help_text="The full reason, for provider staff: may name hosts.")
    attempts = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    document_date = models.DateTimeField(null=True, blank=True, help_text="The date the content is about or sent.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ingested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["external_id"]
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="document_unique_external_id")]
        indexes = [models.Index(fields=["knowledge_base", "status"])]

    def __str__(self) -> str:
        return self.title or self.external_id


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    text = models.TextField()
    page = models.PositiveIntegerField(null=True, blank=True)
    heading_path = models.CharField(max_length=1000, blank=True)
    char_start = models.PositiveIntegerField(default=0)
    char_end = models.PositiveIntegerField(default=0)
    is_disabled = models.BooleanField(default=False)
    is_edited = models.BooleanField(default=False)
    search_vector = SearchVectorField(null=True)
    # BM25's document length: the words the keyword index holds for this chunk (stop words of the base's language
    # excluded), computed by the database from the vector so it can never disagree with it.
    term_count = models.GeneratedField(
        expression=models.Func("search_vector", function="rag_tsvector_length", output_field=models.IntegerField()),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document", "index"]
        constraints = [models.UniqueConstraint(fields=["document", "index"], name="chunk_unique_index")]
        indexes = [GinIndex(fields=["search_vector"], name="rag_chunk_search_gin")]

    def __str__(self) -> str:
        return f"{self.document} #{self.index}"


class ChunkEmbedding(models.Model):
    """One vector per (chunk, model); each model's rows carry their own partial HNSW index, created with the model."""

    chunk = models.ForeignKey(Chunk, on_delete=models.CASCADE, related_name="embeddings")
    model = models.ForeignKey(EmbeddingModel, on_delete=models.CASCADE, related_name="embeddings")
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="+")
    embedding = VectorField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chunk", "model"], name="chunk_embedding_unique_model")]

    def __str__(self) -> str:
        return f"{self.chunk_id} · {self.model_id}"
