"""Demo prototype for the seed: version 1 over the demo engagement's knowledge base, answering with the local
vLLM, and a small eval dataset built from the base's own documents, on which version 2's abstention threshold is
calibrated (retrieval only). No run is seeded: runs need the model."""

from __future__ import annotations

from typing import Any

from rag.models import Document, EvalDataset, KnowledgeBase, Prototype
from rag.prototypes.calibration import prototype_version_calibrate_by_retrieval
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.services import prototype_create

PROTOTYPE_NAME = "Claims assistant"
DATASET_NAME = "Demo questions"
# Written against the demo policy library; each is seeded only when its document is in the knowledge base.
CURATED = [
    ("concealed-damage", "Within how many days must concealed damage be reported?",
     "Within 14 calendar days of delivery.", "damage-claims-policy.md"),
    ("agent-approval", "Up to what amount may an agent approve a claim alone?", "2,500 EUR.",
     "damage-claims-policy.md"),
    ("cmr-limit", "What is the carrier's liability limit under the CMR Convention?",
     "8.33 SDR per kilogram of gross weight.", "carrier-liability.md"),
    ("photographs", "How many photographs should an agent ask for?", "At least three photographs.",
     "evidence-requirements.txt"),
]  # fmt: skip


# Questions no policy library answers, so the demo can show the prototype declining.
OUT_OF_SCOPE = [
    ("out-of-scope", "Who won the football world cup in 1954?"),
    ("out-of-scope-baking", "How long should sourdough bread rise before baking?"),
    ("out-of-scope-weather", "What will the weather be like in Hamburg tomorrow?"),
]


def seed(data: dict[str, Any]) -> dict[str, Any]:
    engagement, deployment = data.get("demo_engagement"), data.get("local_vllm")
    kb = data.get("demo_knowledge_base") or (
        KnowledgeBase.objects.filter(engagement=engagement).order_by("created_at").first() if engagement else None
    )
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
            knowledge_base=kb,
            name=DATASET_NAME,
            description="Questions with reference answers from the policy library, and a few it cannot answer.",
        )
        _seed_cases(dataset, kb)
    if prototype.versions.count() == 1:
        # What an FDE does after the first eval run: set the abstention threshold from the dataset's cases.
        version = prototype.versions.get()
        prototype_version_calibrate_by_retrieval(version=version, dataset=dataset, user=data.get("lead"))
    return {"demo_prototype": prototype, "demo_dataset": dataset}


def _seed_cases(dataset: EvalDataset, kb: KnowledgeBase) -> None:
    ready = Document.objects.filter(knowledge_base=kb, status=Document.Status.READY).order_by("external_id")
    present = set(ready.values_list("external_id", flat=True))
    curated = [case for case in CURATED if case[3] in present]
    for key, question, reference, external_id in curated:
        eval_case_save(
            dataset=dataset,
            external_id=key,
            question=question,
            reference_answer=reference,
            relevant_documents=[external_id],
            tags=["demo"],
        )
    if not curated:  # another corpus: one retrieval question per document
        for document in ready[:5]:
            chunk = document.chunks.filter(is_disabled=False).order_by("index").first()
            topic = (chunk.heading_path.split(" › ")[-1] if chunk and chunk.heading_path else "") or document.title
            eval_case_save(
                dataset=dataset,
                external_id=f"doc-{document.external_id}"[:200],
                question=f"What does the policy say about {topic or document.external_id}?",
                relevant_documents=[document.external_id],
                tags=["demo"],
            )
    for key, question in OUT_OF_SCOPE:
        eval_case_save(
            dataset=dataset, external_id=key, question=question, unanswerable=True, tags=["demo", "abstention"]
        )
