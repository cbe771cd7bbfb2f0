"""Demo knowledge base for the seed: the claims policy library under rag/demo_data, ingested in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.models import DataSource, KnowledgeBase
from rag.services import ingest
from rag.services.knowledge_base import knowledge_base_create

DEMO_FOLDER = Path(__file__).resolve().parent / "demo_data"
KB_NAME = "Claims policy library"
SOURCE_NAME = "Policy library folder"


def seed(data: dict[str, Any]) -> dict[str, Any]:
    engagement = data["demo_engagement"]
    kb = KnowledgeBase.objects.filter(engagement=engagement, name=KB_NAME).first() or knowledge_base_create(
        engagement=engagement,
        name=KB_NAME,
        actor=data.get("lead"),
        description="Claims, liability and evidence policies that agents triage damage and delay claims against.",
    )
    source = kb.sources.filter(name=SOURCE_NAME).first()
    if source is None:
        source = ingest.source_create_folder(knowledge_base=kb, path=str(DEMO_FOLDER), name=SOURCE_NAME)
    elif source.folder_path != str(DEMO_FOLDER):  # the checkout moved since the last seed
        DataSource.objects.filter(pk=source.pk).update(folder_path=str(DEMO_FOLDER))
        source.refresh_from_db()
    batch = ingest.source_sync(source=source, enqueue=False)
    ingest.batch_run(batch_id=batch.pk)
    return {"demo_knowledge_base": kb}
