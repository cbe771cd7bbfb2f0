"""Gate metric providers for an engagement's knowledge bases: what was ingested, how cleanly, from how many sources.

Each takes an optional ``{"knowledge_base": "<uuid>"}`` param to look at one base instead of all of them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from engagements.metrics import MetricResult, register
from rag.models import DataSource, Document, KnowledgeBase

PARAMS_HELP = '{"knowledge_base": "<uuid, optional>"}'


def _bases(engagement: Any, params: dict[str, Any]) -> QuerySet[KnowledgeBase]:
    bases = KnowledgeBase.objects.filter(engagement=engagement)
    if params.get("knowledge_base"):
        bases = bases.filter(uuid=params["knowledge_base"])
    return bases


def _url(bases: QuerySet[KnowledgeBase]) -> str:
    first = bases.order_by("created_at").first()
    return reverse("rag:kb-detail", args=[first.uuid]) if first else reverse("rag:index")


@register(
    "rag.documents_ingested",
    label="Documents ingested",
    unit="documents",
    description="Documents of the engagement's knowledge bases that are parsed, chunked and embedded.",
    params_help=PARAMS_HELP,
)
def documents_ingested(engagement: Any, params: dict[str, Any]) -> MetricResult:
    bases = _bases(engagement, params)
    count = Document.objects.filter(knowledge_base__in=bases, status=Document.Status.READY).count()
    if not bases.exists():
        return MetricResult(value=None, detail="No knowledge base yet.")
    return MetricResult(
        value=count, detail=f"{count} ready in {bases.count()} knowledge base(s)", source_url=_url(bases)
    )


@register(
    "rag.ingestion_error_rate",
    label="Ingestion error rate",
    unit="ratio",
    description="Failed documents as a share of all processed documents (0 to 1).",
    params_help=PARAMS_HELP,
)
def ingestion_error_rate(engagement: Any, params: dict[str, Any]) -> MetricResult:
    bases = _bases(engagement, params)
    counts = Document.objects.filter(knowledge_base__in=bases).aggregate(
        ready=Count("id", filter=Q(status=Document.Status.READY)),
        failed=Count("id", filter=Q(status=Document.Status.FAILED)),
    )
    processed = counts["ready"] + counts["failed"]
    if not processed:
        return MetricResult(value=None, detail="No document processed yet.")
    rate = counts["failed"] / processed
    return MetricResult(
        value=rate, detail=f"{counts['failed']} of {processed} documents failed ({rate:.1%})", source_url=_url(bases)
    )


@register(
    "rag.sources_connected",
    label="Sources connected",
    unit="sources",
    description="Data sources (uploads, server folders, SQL databases) with at least one ingested document.",
    params_help=PARAMS_HELP,
)
def sources_connected(engagement: Any, params: dict[str, Any]) -> MetricResult:
    bases = _bases(engagement, params)
    sources = DataSource.objects.filter(knowledge_base__in=bases, documents__status=Document.Status.READY).distinct()
    kinds = sorted({s.get_kind_display().lower() for s in sources})
    count = len(sources)
    detail = f"{count} source(s): {', '.join(kinds)}" if count else "No source has an ingested document yet."
    return MetricResult(value=count if bases.exists() else None, detail=detail, source_url=_url(bases))
