"""Eval cases drafted by the model from the knowledge base's own chunks, kept as drafts until a person reviews them."""

from __future__ import annotations

import json
from typing import Any

from deployments.gateway import chat_complete
from rag.models import Chunk, EvalCase, EvalDataset, PrototypeVersion
from rag.prototypes.datasets import eval_case_save

MAX_DRAFTS = 5
DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 10, "maxLength": 300},
        "answer": {"type": "string", "minLength": 1, "maxLength": 300},
    },
    "required": ["question", "answer"],
    "additionalProperties": False,
}
DRAFT_SYSTEM = (
    "You write test questions for a document search assistant. Given a passage, write one question that the "
    "passage answers and the short answer, as JSON."
)


def eval_cases_draft(*, dataset: EvalDataset, version: PrototypeVersion, count: int = 3) -> list[EvalCase]:
    """Draft up to ``count`` cases from random enabled chunks of the dataset's knowledge base with ``version``'s
    model. Replies that are not valid JSON are skipped; the rest wait as drafts for review."""
    chunks = (
        Chunk.objects.filter(knowledge_base=dataset.knowledge_base, is_disabled=False)
        .exclude(pk__in=dataset.cases.exclude(source_chunk=None).values("source_chunk"))
        .select_related("document")
        .order_by("?")[: min(count, MAX_DRAFTS)]
    )
    drafts = []
    for chunk in chunks:
        stream = chat_complete(
            deployment=version.deployment,
            messages=[("system", DRAFT_SYSTEM), ("user", f"Passage:\n{chunk.text[:2500]}")],
            caller="rag.draft",
            engagement=dataset.knowledge_base.engagement,
            json_schema=DRAFT_SCHEMA,
            max_tokens=160,
            temperature=0.7,
        )
        try:
            reply = json.loads(stream.text)
        except json.JSONDecodeError:
            continue
        drafts.append(
            eval_case_save(
                dataset=dataset,
                external_id=f"draft-{chunk.pk}",
                question=reply["question"].strip(),
                reference_answer=reply["answer"].strip(),
                relevant_documents=[chunk.document.external_id],
                origin=EvalCase.Origin.GENERATED,
                status=EvalCase.Status.DRAFT,
                source_chunk=chunk,
            )
        )
    return drafts
