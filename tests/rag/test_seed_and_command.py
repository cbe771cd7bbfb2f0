from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from rag import seed
from rag.models import Document, KnowledgeBase
from rag.services.search import search


def test_seed_builds_a_searchable_demo_base_and_is_idempotent(engagement: Any, fde: Any) -> None:
    data = seed.seed({"demo_engagement": engagement, "lead": fde})
    kb = data["demo_knowledge_base"]
    docs = kb.documents.all()
    assert docs.count() == 6 and not docs.exclude(status=Document.Status.READY).exists()
    hit = search(knowledge_base=kb, query="How long do we have to report concealed damage?", top_k=3).hits[0]
    assert hit.external_id == "damage-claims-policy.md"
    chunks = kb.chunks.count()
    assert seed.seed({"demo_engagement": engagement, "lead": fde})["demo_knowledge_base"] == kb
    assert KnowledgeBase.objects.count() == 1 and kb.chunks.count() == chunks
    assert kb.batches.order_by("-queued_at", "-pk").first().skipped_count == 6


def test_kb_import_folder_keeps_relative_paths_and_reports_failures(kb: KnowledgeBase, tmp_path: Path) -> None:
    (tmp_path / "hr").mkdir()
    (tmp_path / "hr" / "leave.md").write_text("# Leave\n\n25 days a year.")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    out = StringIO()
    call_command("kb_import_folder", str(kb.uuid), str(tmp_path), stdout=out)
    assert "2/2 documents processed, 1 failed" in out.getvalue() and "broken.pdf:" in out.getvalue()
    assert set(kb.documents.values_list("external_id", flat=True)) == {"hr/leave.md", "broken.pdf"}
    call_command("kb_import_folder", kb.name, str(tmp_path), stdout=out)
    assert kb.sources.count() == 1


def test_kb_import_folder_refuses_unknown_base_and_missing_folder(kb: KnowledgeBase, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No single knowledge base"):
        call_command("kb_import_folder", "nope", str(tmp_path))
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("kb_import_folder", str(kb.uuid), str(tmp_path / "missing"))
