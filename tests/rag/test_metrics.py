from __future__ import annotations

from typing import Any

from engagements.metrics import get_provider
from rag.models import KnowledgeBase
from rag.services import ingest
from tests.rag import files
from tests.rag.conftest import run_batch


def _value(key: str, engagement: Any, params: dict[str, Any] | None = None) -> Any:
    provider = get_provider(key)
    assert provider is not None, key
    return provider.compute(engagement, params)


def test_providers_report_no_evidence_before_any_ingestion(engagement: Any) -> None:
    for key in ("rag.documents_ingested", "rag.ingestion_error_rate", "rag.sources_connected"):
        assert _value(key, engagement).value is None


def test_providers_count_ingested_documents_errors_and_sources(kb: KnowledgeBase, engagement: Any) -> None:
    uploads = [("a.md", files.POLICY_MD.encode()), ("b.txt", b"fine"), ("c.txt", b""), ("d.exe", b"MZ")]
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=uploads))
    assert _value("rag.documents_ingested", engagement).value == 2
    rate = _value("rag.ingestion_error_rate", engagement, {"knowledge_base": str(kb.uuid)})
    assert rate.value == 0.5 and "2 of 4" in rate.detail and str(kb.uuid) in rate.source_url
    assert _value("rag.sources_connected", engagement).value == 1
