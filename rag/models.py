"""Knowledge bases: sources, documents, chunks and their embeddings, and the ingestion job rows."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import VectorField

from deployments import crypto
from deployments.models import EncryptedApiKey
from deployments.validators import validate_endpoint_url


class TextSearchConfig(models.TextChoices):
    # 'simple' lowercases without stemming, so it treats every language alike; stemming is a per-base opt-in.
    SIMPLE = "simple", "Any language (no stemming)"
    ENGLISH = "english", "English"
    GERMAN = "german", "German"
    FRENCH = "french", "French"
    SPANISH = "spanish", "Spanish"
    ITALIAN = "italian", "Italian"
    DUTCH = "dutch", "Dutch"
    PORTUGUESE = "portuguese", "Portuguese"


class EmbeddingModel(EncryptedApiKey):
    """An embedding model: the bundled local MiniLM or any OpenAI-compatible embeddings endpoint.

    Each model gets its own partial HNSW index on ``ChunkEmbedding`` (see ``rag.services.embedding``).
    """

    class Kind(models.TextChoices):
        LOCAL = "local", "Local (sentence-transformers)"
        OPENAI = "openai", "OpenAI-compatible endpoint"

    key = models.SlugField(max_length=80, unique=True)
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.LOCAL)
    model_name = models.CharField(max_length=300, help_text="The model name the endpoint answers to, or a path.")
    base_url = models.CharField("base URL", max_length=500, blank=True, validators=[validate_endpoint_url])
    dimensions = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.label


class KnowledgeBase(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey("engagements.Engagement", on_delete=models.CASCADE, related_name="knowledge_bases")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    text_search_config = models.CharField(
        "keyword search language", max_length=20, choices=TextSearchConfig.choices, default=TextSearchConfig.SIMPLE
    )
    chunk_size = models.PositiveIntegerField(default=800, help_text="Characters per chunk (tokens when token-based).")
    chunk_overlap = models.PositiveIntegerField(default=120)
    token_chunking = models.BooleanField(default=False, help_text="Split by model tokens instead of characters.")
    embedding_models = models.ManyToManyField(EmbeddingModel, related_name="knowledge_bases")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["engagement", "name"]
        constraints = [models.UniqueConstraint(fields=["engagement", "name"], name="kb_unique_name_per_engagement")]

    def __str__(self) -> str:
        return self.name


class DataSource(models.Model):
    class Kind(models.TextChoices):
        UPLOAD = "upload", "Uploaded files"
        FOLDER = "folder", "Server folder"
        SQL = "sql", "SQL database"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    knowledge_base = models.ForeignKey(KnowledgeBase, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    folder_path = models.CharField(max_length=1000, blank=True)
    connection_url_encrypted = models.TextField(blank=True, editable=False)
    query = models.TextField(blank=True)
    key_column = models.CharField(max_length=200, blank=True)
    title_column = models.CharField(max_length=200, blank=True)
    row_template = models.TextField(blank=True, help_text="Django template syntax, e.g. {{ title }}: {{ body }}")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["knowledge_base", "name"]
        constraints = [models.UniqueConstraint(fields=["knowledge_base", "name"], name="source_unique_name_per_kb")]

    def __str__(self) -> str:
        return self.name

    @property
    def connection_url(self) -> str:
        return crypto.decrypt(self.connection_url_encrypted)

    @connection_url.setter
    def connection_url(self, value: str) -> None:
        self.connection_url_encrypted = crypto.encrypt(value)


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


# The prototype, evaluation and feedback models live in their own module.
from rag.models_prototypes import *  # noqa: E402, F403
