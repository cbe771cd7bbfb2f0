"""Demo prototype for the seed: version 1 over the demo engagement's knowledge base, answering with the local
vLLM, and a small eval dataset built from the base's own documents. No run is seeded: runs need the model."""

from __future__ import annotations

from typing import Any

from rag.models import Document, KnowledgeBase
from rag.models_prototypes import EvalDataset, Prototype
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.services import prototype_create

PROTOTYPE_NAME = "Claims assistant"
DATASET_NAME = "Demo questions"


def seed(data: dict[str, Any]) -> dict[str, Any]:
    engagement, deployment = data.get("demo_engagement"), data.get("local_vllm")
    kb = KnowledgeBase.objects.filter(engagement=engagement).order_by("created_at").first() if engagement else None
    if kb is None or deployment is None:
        return {}
    prototype = Prototype.objects.filter(knowledge_base=kb, name=PROTOTYPE_NAME).first() or prototype_create(
        knowledge_base=kb,
        name=PROTOTYPE_NAME,
        description="Answers claim handlers' questions from the policy library, citing its sources.",
        user=data.get("lead"),
        deployment=deployment,
        embedding_model=kb.embedding_models.first(),
        max_tokens=200,
    )
    dataset = EvalDataset.objects.filter(knowledge_base=kb, name=DATASET_NAME).first()
    if dataset is None:
        dataset = eval_dataset_create(
            knowledge_base=kb, name=DATASET_NAME, description="One question per demo document and one it cannot answer."
        )
        _seed_cases(dataset, kb)
    return {"demo_prototype": prototype, "demo_dataset": dataset}


def _seed_cases(dataset: EvalDataset, kb: KnowledgeBase) -> None:
    documents = Document.objects.filter(knowledge_base=kb, status=Document.Status.READY).order_by("external_id")[:5]
    for document in documents:
        chunk = document.chunks.filter(is_disabled=False).order_by("index").first()
        topic = (chunk.heading_path.split(" › ")[-1] if chunk and chunk.heading_path else "") or document.title
        eval_case_save(
            dataset=dataset,
            external_id=f"doc-{document.external_id}"[:200],
            question=f"What does the policy say about {topic or document.external_id}?",
            relevant_documents=[document.external_id],
            tags=["demo"],
        )
    eval_case_save(
        dataset=dataset,
        external_id="out-of-scope",
        question="Who won the football world cup in 1954?",
        unanswerable=True,
        tags=["demo", "abstention"],
    )
