"""Builders for the prototype tests: an indexed knowledge base, the local model as a deployment, a prototype."""

from __future__ import annotations

from typing import Any
from unittest import mock

from deployments.models import Deployment
from deployments.services import deployment_save
from jobs import services as job_services
from rag.models import KnowledgeBase, Prototype
from rag.prototypes.services import prototype_create
from rag.services import ingest
from tests.rag import files
from tests.rag.conftest import run_batch

CLAIMS_PDF_PAGES = [
    "Claims handbook. Chapter one covers who may file a claim and how to reach the claims desk.",
    "Claims for damaged freight must be filed within 14 days of delivery to the carrier claims desk.",
]
CORPUS: dict[str, bytes] = {
    "handbook/claims.pdf": files.make_pdf(CLAIMS_PDF_PAGES),
    "rates.md": b"# Freight rates\n\nStandard pallets cost 42 EUR per pallet within the EU.\n\n"
    b"## Surcharges\n\nHazardous goods carry a 15% surcharge.",
    "privacy.md": b"# Privacy\n\nCustomer addresses are deleted 90 days after delivery.",
}


def index(kb: KnowledgeBase, corpus: dict[str, bytes] | None = None) -> KnowledgeBase:
    # Ingested here, in the test's own process and media folder: the batch's task stays off the broker, where a
    # worker left running by another test (with another media folder) could take it first.
    with mock.patch.object(job_services, "_send", lambda model, pk: True):
        queued = ingest.documents_add_files(knowledge_base=kb, files=list((corpus or CORPUS).items()))
    batch = run_batch(queued)
    assert batch.failed_count == 0, list(batch.documents.values_list("external_id", "error"))
    return kb


def local_deployment(server: dict[str, str], name: str = "Local test model") -> Deployment:
    return deployment_save(
        name=name, base_url=server["base_url"], served_model_name=server["model"], context_window=2048
    )


def make_prototype(kb: KnowledgeBase, deployment: Deployment, name: str = "Claims bot", **config: Any) -> Prototype:
    config.setdefault("max_tokens", 48)
    config.setdefault("abstain_below", 0.2)
    return prototype_create(
        knowledge_base=kb,
        name=name,
        deployment=deployment,
        embedding_model=kb.embedding_models.first(),
        **config,
    )


def scored_eval_run(
    prototype: Prototype, scores: dict[str, dict[str, float]], dataset: str = "Claims questions"
) -> Any:
    """A finished eval run of the prototype whose cases scored ``scores`` (per case: field -> value), as the worker
    would have stored them, without asking a model. A second run of the same dataset name reuses its cases."""
    from rag.models import EvalResult
    from rag.prototypes import evals
    from rag.prototypes.datasets import eval_case_save, eval_dataset_create

    kb = prototype.knowledge_base
    scored = kb.eval_datasets.filter(name=dataset).first() or eval_dataset_create(knowledge_base=kb, name=dataset)
    cases = {
        key: eval_case_save(
            dataset=scored,
            external_id=key,
            question=f"{key}?",
            reference_answer="14 days",
            relevant_documents=["handbook/claims.pdf"],
        )
        for key in scores
    }
    run = evals.eval_run_create(version=prototype.versions.get(), dataset=scored, use_judge=False, enqueue=False)
    for key, values in scores.items():
        EvalResult.objects.create(run=run, case=cases[key], answer=f"answer to {key}", **values)
    return evals.eval_run_finish(run_id=run.pk)
