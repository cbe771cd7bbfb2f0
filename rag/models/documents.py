"""Documents, their chunks and vectors, and the ingestion batches that produce them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import VectorField

from rag.models.knowledge import DataSource, EmbeddingModel, KnowledgeBase


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class IngestionBatch(models.Model):
    """A job row: one run of the pipeline over a set of documents (an upload, a sync, a retry)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="batches")
    source = models.ForeignKey(DataSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="batches")
    label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"Batch {self.uuid}"

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total) if self.total else (100 if self.status == JobStatus.DONE else 0)

    @property
    def is_active(self) -> bool:
        return self.status in {JobStatus.QUEUED, JobStatus.RUNNING}


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
    error = models.TextField(blank=True)
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
