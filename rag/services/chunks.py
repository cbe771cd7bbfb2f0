"""Edits from the chunk inspector: turn a chunk off, or correct its text (re-embedded at once)."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector
from django.db import transaction

from rag.embeddings import embed_documents
from rag.models import Chunk, ChunkEmbedding


@transaction.atomic
def chunk_set_disabled(*, chunk: Chunk, disabled: bool) -> Chunk:
    chunk.is_disabled = disabled
    chunk.save(update_fields=["is_disabled", "updated_at"])
    return chunk


@transaction.atomic
def chunk_update_text(*, chunk: Chunk, text: str) -> Chunk:
    """Replace a chunk's text, its keyword index entry and its vector in every model of the base.

    The edit lasts until the document's content changes; a re-ingest replaces the whole document's chunks.
    """
    chunk.text = text.strip()
    chunk.is_edited = True
    chunk.full_clean(exclude=["search_vector"])
    chunk.save(update_fields=["text", "is_edited", "updated_at"])
    kb = chunk.knowledge_base
    Chunk.objects.filter(pk=chunk.pk).update(search_vector=SearchVector("text", config=kb.text_search_config))
    for model in kb.embedding_models.all():
        vector = embed_documents(model, [chunk.text])[0]
        ChunkEmbedding.objects.update_or_create(
            chunk=chunk, model=model, defaults={"embedding": vector, "knowledge_base": kb}
        )
    return chunk
