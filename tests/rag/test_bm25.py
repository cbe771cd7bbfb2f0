from __future__ import annotations

import math
import random
from typing import Any

import bm25s
import pytest
from django.db import connection

from rag.models import Chunk, Document, KeywordCorpus, KeywordTerm, KnowledgeBase
from rag.services import bm25, ingest
from rag.services.chunks import chunk_set_disabled, chunk_update_text
from rag.services.knowledge_base import knowledge_base_create
from rag.services.search import search
from tests.rag.conftest import run_batch

HAND = {"a.txt": "apple apple banana", "b.txt": "apple cherry", "c.txt": "banana cherry cherry date"}


def _ingest(kb: KnowledgeBase, files: dict[str, str]) -> KnowledgeBase:
    run_batch(ingest.documents_add_files(knowledge_base=kb, files=[(k, v.encode()) for k, v in files.items()]))
    return kb


def _keyword(kb: KnowledgeBase, query: str, top_k: int = 10) -> dict[str, float]:
    response = search(knowledge_base=kb, query=query, mode="keyword", top_k=top_k)
    return {h.external_id: h.keyword_score or 0.0 for h in response.hits}


def _stats(kb: KnowledgeBase) -> tuple[tuple[int, int], dict[str, int]]:
    corpus = KeywordCorpus.objects.filter(knowledge_base=kb).first()
    terms = {t.term: t.df for t in KeywordTerm.objects.filter(knowledge_base=kb) if t.df}
    return ((corpus.chunks, corpus.tokens) if corpus else (0, 0)), terms


def _recounted(kb: KnowledgeBase) -> tuple[tuple[int, int], dict[str, int]]:
    """The statistics computed from scratch over the base's searchable chunks."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(c.term_count), 0) FROM rag_chunk c JOIN rag_document d ON d.id = "
            "c.document_id WHERE c.knowledge_base_id = %s AND d.status = 'ready' AND NOT c.is_disabled",
            [kb.pk],
        )
        chunks, tokens = cursor.fetchone()
        cursor.execute(
            "SELECT w, count(*) FROM rag_chunk c JOIN rag_document d ON d.id = c.document_id, "
            "unnest(tsvector_to_array(c.search_vector)) w WHERE c.knowledge_base_id = %s AND d.status = 'ready' "
            "AND NOT c.is_disabled GROUP BY w",
            [kb.pk],
        )
        return (chunks, tokens), dict(cursor.fetchall())


@pytest.fixture
def hand(engagement: Any) -> KnowledgeBase:
    return _ingest(knowledge_base_create(engagement=engagement, name="Hand"), HAND)


def test_scores_match_hand_computed_bm25(hand: KnowledgeBase) -> None:
    # N = 3 chunks of 3, 2 and 4 words (avgdl 3); k1 = 1.2, b = 0.75.
    idf_apple = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # 0.4700
    assert _keyword(hand, "apple") == pytest.approx(
        {"a.txt": idf_apple * 2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 3)), "b.txt": idf_apple * 1 / (1 + 1.2 * 0.75)}
    )
    idf_date = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))  # 0.9808
    cherry_c = idf_apple * 2 / (2 + 1.2 * (0.25 + 0.75 * 4 / 3))
    scores = _keyword(hand, "Cherry date?")
    assert list(scores) == ["c.txt", "b.txt"]
    assert scores["c.txt"] == pytest.approx(cherry_c + idf_date * 1 / (1 + 1.2 * (0.25 + 0.75 * 4 / 3)))
    assert scores["b.txt"] == pytest.approx(idf_apple * 1 / (1 + 1.2 * (0.25 + 0.75 * 2 / 3)))


def test_a_repeated_query_word_counts_each_time(hand: KnowledgeBase) -> None:
    once, twice = _keyword(hand, "date"), _keyword(hand, "date date")
    assert twice["c.txt"] == pytest.approx(2 * once["c.txt"])


def test_words_the_base_never_saw_and_empty_bases_find_nothing(hand: KnowledgeBase, engagement: Any) -> None:
    assert _keyword(hand, "zebra") == {}
    empty = knowledge_base_create(engagement=engagement, name="Empty")
    assert _keyword(empty, "apple") == {}


def test_statistics_follow_every_change_to_what_is_searchable(hand: KnowledgeBase) -> None:
    assert _stats(hand) == _recounted(hand) == ((3, 9), {"apple": 2, "banana": 2, "cherry": 2, "date": 1})
    _ingest(hand, {"d.txt": "date elderberry fig", "a.txt": "apple grape"})  # one added, one replaced
    assert _stats(hand) == _recounted(hand)
    assert _stats(hand)[0] == (4, 11)
    chunk = Chunk.objects.get(document__external_id="c.txt")
    chunk_set_disabled(chunk=chunk, disabled=True)
    assert _stats(hand) == _recounted(hand) and "cherry" in _stats(hand)[1] and "banana" not in _stats(hand)[1]
    chunk_set_disabled(chunk=chunk, disabled=False)
    chunk_update_text(chunk=Chunk.objects.get(document__external_id="b.txt"), text="kiwi kiwi lime")
    assert _stats(hand) == _recounted(hand) and _stats(hand)[1]["kiwi"] == 1
    doc = hand.documents.get(external_id="d.txt")
    ingest.document_retry(document=doc)  # pending again: out of the index until it is ready
    assert _stats(hand) == _recounted(hand) and "elderberry" not in _stats(hand)[1]
    Document.objects.filter(external_id="a.txt").delete()
    assert _stats(hand) == _recounted(hand) and "grape" not in _stats(hand)[1]
    assert _keyword(hand, "apple grape") == {}


def test_deleting_a_base_removes_its_statistics(hand: KnowledgeBase) -> None:
    pk = hand.pk
    hand.delete()
    assert not KeywordCorpus.objects.filter(knowledge_base_id=pk).exists()
    assert not KeywordTerm.objects.filter(knowledge_base_id=pk).exists()


WORDS = [
    "claim", "damage", "pallet", "freight", "invoice", "carrier", "surcharge", "customs", "delivery", "refund",
    "schaden", "frist", "lieferung", "entrepôt", "livraison", "délai", "παράδοση", "αποθήκη", "配送", "the", "of",
    "and", "a", "to", "in", "is", "for",
]  # fmt: skip


def _corpus(seed: int, documents: int) -> dict[str, str]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]  # Zipf-like: a few words are everywhere
    weights = weights[::-1]  # ...and those are the stop-word-like ones at the end
    return {
        f"doc-{i:03}.txt": " ".join(rng.choices(WORDS, weights=weights, k=rng.randint(3, 40))) for i in range(documents)
    }


def _tokens(text: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT lexeme, positions FROM unnest(to_tsvector('simple', %s))", [text])
        return [lexeme for lexeme, positions in cursor.fetchall() for _ in range(len(positions or [1]))]


def test_rankings_agree_with_the_bm25s_reference(engagement: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(seed=3, documents=120)
    kb = _ingest(knowledge_base_create(engagement=engagement, name="Zipf", chunk_size=2000), corpus)
    names = sorted(corpus)
    reference = bm25s.BM25(method="lucene", k1=bm25.K1, b=bm25.B)
    reference.index([_tokens(corpus[name]) for name in names], show_progress=False)
    # A tiny first pass makes the common words go through the later passes too.
    monkeypatch.setattr(bm25, "FIRST_PASS_POSTINGS", 5)
    rng = random.Random(9)
    for _ in range(25):
        query = " ".join(rng.sample(WORDS, k=rng.randint(1, 5)))
        expected = reference.get_scores(_tokens(query))
        ranked = sorted(((float(s), n) for s, n in zip(expected, names, strict=True) if s > 0), key=lambda r: -r[0])
        got = _keyword(kb, query, top_k=10)
        assert list(got.values()) == pytest.approx([s for s, _ in ranked[:10]], rel=1e-5), query
        # Same order, except among equal scores, which each side breaks its own way.
        for name, score in got.items():
            assert score == pytest.approx(expected[names.index(name)], rel=1e-5), (query, name)


def test_the_bases_language_decides_what_a_word_is(engagement: Any) -> None:
    german = knowledge_base_create(engagement=engagement, name="De", text_search_config="german")
    _ingest(german, {"fristen.txt": "Die Fristen für Schäden an Lieferungen", "andere.txt": "Rechnungen und Zölle"})
    assert list(_keyword(german, "Frist für eine Lieferung")) == ["fristen.txt"]  # stems match across inflections
    plan = bm25.plan(german, "die Fristen")
    assert [t.term for t in plan.terms] == ["frist"]  # 'die' is a German stop word


def test_phrases_and_exclusions_narrow_the_matches_and_bm25_ranks_them(hand: KnowledgeBase) -> None:
    assert list(_keyword(hand, '"cherry date"')) == ["c.txt"]
    assert list(_keyword(hand, "apple -banana")) == ["b.txt"]
