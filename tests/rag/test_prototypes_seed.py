from __future__ import annotations

from typing import Any

from deployments.services import deployment_save
from rag.models import EvalCase, KnowledgeBase, Prototype
from rag.prototypes import retrieval, seed
from tests.rag.prototype_builders import index


def test_seed_adds_a_demo_prototype_and_dataset_once(kb: KnowledgeBase, fde: Any) -> None:
    index(kb)
    local = deployment_save(name="Local", base_url="http://127.0.0.1:8001/v1", served_model_name="m")
    data = {"demo_engagement": kb.engagement, "local_vllm": local, "lead": fde}

    first = seed.seed(data)
    again = seed.seed(data)

    assert first["demo_prototype"] == again["demo_prototype"]
    versions = Prototype.objects.get().versions.order_by("number")
    assert [v.deployment for v in versions] == [local, local]
    cases = EvalCase.objects.filter(dataset=first["demo_dataset"])
    assert cases.count() == 3 + len(seed.OUT_OF_SCOPE)  # one per document and a few it cannot answer
    assert cases.filter(unanswerable=True).count() == len(seed.OUT_OF_SCOPE)
    # Version 2 declines what the documents do not answer, and nothing they do.
    calibrated = versions[1]
    assert "calibrated" in calibrated.note and calibrated.abstain_below != versions[0].abstain_below
    confidence = {c.external_id: retrieval.retrieve(version=calibrated, question=c.question).confidence for c in cases}
    assert all((confidence[c.external_id] < calibrated.abstain_below) == c.unanswerable for c in cases), confidence
    relevant = sorted(doc for docs in cases.values_list("relevant_documents", flat=True) for doc in docs)
    assert relevant == ["handbook/claims.pdf", "privacy.md", "rates.md"]


def test_seed_does_nothing_without_a_knowledge_base(db: Any) -> None:
    assert seed.seed({}) == {}
