"""Knowledge bases, their data sources and the embedding models their chunks are indexed with."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

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
