"""Reads for knowledge bases, every one scoped through the engagements the user may see."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from django.db.models import Count, Q, QuerySet

from engagements.selectors import engagement_list_for_user
from rag.models import Chunk, DataSource, Document, IngestionBatch, KnowledgeBase


def knowledge_base_list_for_user(*, user: Any) -> QuerySet[KnowledgeBase]:
    return (
        KnowledgeBase.objects.filter(engagement__in=engagement_list_for_user(user=user))
        .select_related("engagement__client")
        .annotate(
            document_count=Count("documents", distinct=True),
            ready_count=Count("documents", filter=Q(documents__status=Document.Status.READY), distinct=True),
            failed_count=Count("documents", filter=Q(documents__status=Document.Status.FAILED), distinct=True),
        )
        .order_by("engagement__client__name", "engagement__name", "name")
    )


def knowledge_base_get_for_user(*, user: Any, uuid: uuid_lib.UUID | str) -> KnowledgeBase | None:
    return knowledge_base_list_for_user(user=user).filter(uuid=uuid).first()


def document_list_for_knowledge_base(*, knowledge_base: KnowledgeBase) -> QuerySet[Document]:
    return knowledge_base.documents.select_related("source").order_by("external_id")


def document_get_for_user(*, user: Any, uuid: uuid_lib.UUID | str) -> Document | None:
    return (
        Document.objects.filter(knowledge_base__engagement__in=engagement_list_for_user(user=user), uuid=uuid)
        .select_related("knowledge_base__engagement", "source")
        .first()
    )


def chunk_list_for_document(*, document: Document) -> QuerySet[Chunk]:
    return document.chunks.order_by("index")


def batch_get_for_user(*, user: Any, uuid: uuid_lib.UUID | str) -> IngestionBatch | None:
    visible = engagement_list_for_user(user=user)
    return IngestionBatch.objects.filter(uuid=uuid, knowledge_base__engagement__in=visible).first()


def batch_latest(*, knowledge_base: KnowledgeBase) -> IngestionBatch | None:
    return knowledge_base.batches.order_by("-queued_at").first()


def source_list_for_knowledge_base(*, knowledge_base: KnowledgeBase) -> QuerySet[DataSource]:
    return knowledge_base.sources.annotate(document_count=Count("documents")).order_by("name")


def source_get_for_user(*, user: Any, uuid: uuid_lib.UUID | str) -> DataSource | None:
    visible = engagement_list_for_user(user=user)
    return DataSource.objects.filter(uuid=uuid, knowledge_base__engagement__in=visible).first()


def knowledge_base_stats(*, knowledge_base: KnowledgeBase) -> dict[str, int]:
    counts = knowledge_base.documents.aggregate(
        documents=Count("id"),
        ready=Count("id", filter=Q(status=Document.Status.READY)),
        failed=Count("id", filter=Q(status=Document.Status.FAILED)),
        waiting=Count("id", filter=Q(status__in=[Document.Status.PENDING, Document.Status.PROCESSING])),
    )
    counts["chunks"] = knowledge_base.chunks.count()
    counts["sources"] = knowledge_base.sources.count()
    return counts
