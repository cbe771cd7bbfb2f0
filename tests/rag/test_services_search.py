from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rag.models import Chunk, Document, KnowledgeBase
from rag.rerank import CrossEncoderReranker
from rag.services import ingest
from rag.services.search import SearchError, SearchFilters, fuse, search
from tests.rag import files
from tests.rag.conftest import run_batch

CORPUS = {
    "damage.md": files.POLICY_MD,
    "rates.md": "# Freight rates\n\nStandard pallets cost 42 EUR per pallet within the EU.\n\n## Surcharges\n\n"
    "Hazardous goods carry a 15% surcharge.",
    "privacy.md": "# Privacy\n\nCustomer addresses are deleted 90 days after delivery.",
    "dutch.md": "# Schadeclaims\n\nSchade moet binnen veertien dagen worden gemeld bij de vervoerder.",
}


@pytest.fixture
def indexed(kb: KnowledgeBase) -> KnowledgeBase:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[(k, v.encode()) for k, v in CORPUS.items()]))
    return kb


def test_vector_search_finds_by_meaning(indexed: KnowledgeBase) -> None:
    response = search(knowledge_base=indexed, query="what does shipping a pallet cost", mode="vector", top_k=3)
    assert response.hits[0].external_id == "rates.md"
    assert response.hits[0].vector_score is not None and response.hits[0].keyword_score is None
    scores = [h.vector_score or 0 for h in response.hits]
    assert scores == sorted(scores, reverse=True)


def test_keyword_search_ranks_by_bm25_within_websearch_phrases_and_exclusions(indexed: KnowledgeBase) -> None:
    exact = search(knowledge_base=indexed, query='"hazardous goods"', mode="keyword")
    assert [h.external_id for h in exact.hits] == ["rates.md"] and exact.keyword_match == "bm25"
    excluded = search(knowledge_base=indexed, query="delivery -photographs", mode="keyword")
    assert excluded.hits and not any("photographs" in h.text for h in excluded.hits)
    question = search(knowledge_base=indexed, query="when are customer addresses removed?", mode="keyword")
    assert question.hits[0].external_id == "privacy.md"
    scores = [h.keyword_score or 0 for h in question.hits]
    assert scores == sorted(scores, reverse=True) and question.vector_scores == []


def test_simple_text_config_matches_words_in_any_language(indexed: KnowledgeBase) -> None:
    response = search(knowledge_base=indexed, query="vervoerder", mode="keyword")
    assert [h.external_id for h in response.hits] == ["dutch.md"]


def test_hybrid_fuses_both_rankings_and_reports_each_score_and_timing(indexed: KnowledgeBase) -> None:
    response = search(knowledge_base=indexed, query="surcharge for hazardous goods", mode="hybrid", top_k=4)
    top = response.hits[0]
    assert top.external_id == "rates.md" and top.heading_path == "Freight rates › Surcharges"
    assert top.vector_rank is not None and top.keyword_rank is not None
    assert 0 < top.fused_score <= 1.0
    assert set(response.timings) == {"embedding_ms", "vector_ms", "keyword_ms", "fusion_ms", "rerank_ms", "total_ms"}
    assert response.vector_scores == sorted(response.vector_scores, reverse=True) and response.vector_scores
    chunk = Chunk.objects.get(pk=top.chunk_id)
    assert (top.char_start, top.char_end, top.text) == (chunk.char_start, chunk.char_end, chunk.text)


def test_convex_fusion_matches_hand_computed_scores() -> None:
    fused = fuse([(1, 0.9), (2, 0.7), (3, 0.5)], [(3, 8.0), (4, 4.0), (1, 2.0)], weights=(3.0, 1.0))
    # vector normalised: 1 -> 1, 2 -> 0.5, 3 -> 0; keyword: 3 -> 1, 4 -> 1/3, 1 -> 0; shares 0.75 and 0.25.
    assert {cid: round(f.fused, 6) for cid, f in fused.items()} == {1: 0.75, 2: 0.375, 3: 0.25, 4: round(0.25 / 3, 6)}
    assert (fused[3].vector_rank, fused[3].keyword_rank, fused[4].vector_rank) == (3, 1, None)


def test_rrf_fusion_matches_hand_computed_scores() -> None:
    fused = fuse([(1, 0.9), (2, 0.7)], [(2, 5.0)], weights=(1.0, 1.0), method="rrf")
    assert fused[1].fused == pytest.approx(0.5 / 61) and fused[2].fused == pytest.approx(0.5 / 62 + 0.5 / 61)


def test_fused_ties_go_to_the_stronger_single_signal_not_the_lower_id() -> None:
    # 7, 3 and 5 all fuse to 0.5: 7 and 5 from one side at full strength, 3 from half of each; 7 is closer in meaning.
    fused = fuse([(7, 1.0), (3, 0.5), (5, 0.0)], [(5, 4.0), (3, 2.0), (8, 0.0)], weights=(1.0, 1.0))
    assert [fused[c].fused for c in (7, 3, 5)] == [0.5, 0.5, 0.5]
    assert sorted(fused, key=lambda cid: fused[cid].order_key) == [7, 5, 3, 8]


def test_weights_shift_the_fusion(indexed: KnowledgeBase) -> None:
    keyword_only = search(knowledge_base=indexed, query="Customer addresses", weights=(0.0, 1.0))
    assert all(h.keyword_rank is not None for h in keyword_only.hits if h.fused_score > 0)


def test_filters_on_document_source_and_date(indexed: KnowledgeBase) -> None:
    privacy = indexed.documents.get(external_id="privacy.md")
    only = search(knowledge_base=indexed, query="policy", filters=SearchFilters(document_ids=[privacy.uuid]))
    assert {h.external_id for h in only.hits} == {"privacy.md"}
    Document.objects.filter(pk=privacy.pk).update(document_date=datetime(2020, 1, 1, tzinfo=UTC))
    recent = search(
        knowledge_base=indexed, query="addresses", filters=SearchFilters(date_from=datetime(2024, 1, 1, tzinfo=UTC))
    )
    assert "privacy.md" not in {h.external_id for h in recent.hits}
    other_source = ingest.source_create_folder(knowledge_base=indexed, path="/nonexistent")
    none = search(knowledge_base=indexed, query="addresses", filters=SearchFilters(source_ids=[other_source.uuid]))
    assert none.hits == []


def test_disabled_chunks_are_never_returned(indexed: KnowledgeBase) -> None:
    Chunk.objects.filter(document__external_id="privacy.md").update(is_disabled=True)
    response = search(knowledge_base=indexed, query="customer addresses deleted", top_k=10)
    assert "privacy.md" not in {h.external_id for h in response.hits}


def test_other_knowledge_bases_never_leak_in(indexed: KnowledgeBase, engagement: Any) -> None:
    from rag.services.knowledge_base import knowledge_base_create

    other = knowledge_base_create(engagement=engagement, name="Other")
    run_batch(ingest.documents_add_files(knowledge_base=other, files=[("secret.md", b"# Pallets\n\nPallet secrets")]))
    response = search(knowledge_base=indexed, query="pallet", top_k=20)
    assert "secret.md" not in {h.external_id for h in response.hits}


def test_rerank_stage_reorders_by_its_own_score(indexed: KnowledgeBase) -> None:
    from rag.embeddings import local_model_path

    response = search(
        knowledge_base=indexed, query="pallet cost", top_k=3, reranker=CrossEncoderReranker(local_model_path())
    )
    scores = [h.rerank_score for h in response.hits]
    assert None not in scores and scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert response.reranker.startswith("cross-encoder:") and response.timings["rerank_ms"] > 0


def test_rerank_without_a_configured_reranker_says_how_to_set_one() -> None:
    with pytest.raises(SearchError, match="RAG_RERANK"):
        search(knowledge_base=KnowledgeBase(), query="x", rerank=True)


def test_bad_requests_get_clear_errors(indexed: KnowledgeBase) -> None:
    with pytest.raises(SearchError, match="Enter a question"):
        search(knowledge_base=indexed, query="  ")
    with pytest.raises(SearchError, match="Unknown search mode"):
        search(knowledge_base=indexed, query="x", mode="fuzzy")
    with pytest.raises(SearchError, match="does not index"):
        search(knowledge_base=indexed, query="x", embedding_model="nope")
