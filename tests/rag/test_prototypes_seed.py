from __future__ import annotations

from typing import Any

from deployments.services import deployment_save
from rag.models import EvalCase, KnowledgeBase, Prototype
from rag.prototypes import seed
from tests.rag.prototype_builders import index


def test_seed_adds_a_demo_prototype_and_dataset_once(kb: KnowledgeBase, fde: Any) -> None:
    index(kb)
    local = deployment_save(name="Local", base_url="http://127.0.0.1:8001/v1", served_model_name="m")
    data = {"demo_engagement": kb.engagement, "local_vllm": local, "lead": fde}

    first = seed.seed(data)
    again = seed.seed(data)

    assert first["demo_prototype"] == again["demo_prototype"]
    assert Prototype.objects.get().versions.get().deployment == local
    cases = EvalCase.objects.filter(dataset=first["demo_dataset"])
    assert cases.count() == 4  # one per document and one it cannot answer
    assert cases.filter(unanswerable=True).count() == 1
    relevant = sorted(doc for docs in cases.values_list("relevant_documents", flat=True) for doc in docs)
    assert relevant == ["handbook/claims.pdf", "privacy.md", "rates.md"]


def test_seed_does_nothing_without_a_knowledge_base(db: Any) -> None:
    assert seed.seed({}) == {}
