from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engagements.models import Engagement
from rag.models import IngestionBatch, KnowledgeBase
from rag.services import ingest
from rag.services.knowledge_base import knowledge_base_create


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def kb(engagement: Engagement, fde: Any) -> KnowledgeBase:
    return knowledge_base_create(engagement=engagement, name="Policies", actor=fde, chunk_size=300, chunk_overlap=40)


def run_batch(batch: IngestionBatch) -> IngestionBatch:
    """What the worker does with a queued batch, run in the test's own transaction."""
    ran = ingest.batch_run(batch_id=batch.pk)
    assert ran is not None, "the batch could not be claimed"
    return ran
