from __future__ import annotations

import math

import pytest

from rag.evaluation.judge import parse_judgement
from rag.evaluation.metrics import (
    bootstrap_delta,
    exact_match,
    hit_at_k,
    ndcg_at_k,
    normalize_answer,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)

# Ranked documents, with repeats as several chunks of one document come back: d1, d2, d3, d4 once de-duplicated.
RANKED = ["d3", "d1", "d3", "d2", "d4"]


def test_hit_at_k_counts_documents_not_chunks() -> None:
    assert hit_at_k(RANKED, {"d2"}, 2) == 0.0
    assert hit_at_k(RANKED, {"d2"}, 3) == 1.0  # d2 is third once the second d3 chunk is folded away


def test_recall_at_k_by_hand() -> None:
    assert recall_at_k(RANKED, {"d1", "d2", "d9"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, {"d1", "d2", "d9"}, 3) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, set(), 3) == 0.0


def test_reciprocal_rank_by_hand() -> None:
    assert reciprocal_rank(RANKED, {"d2", "d4"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(RANKED, {"d9"}) == 0.0


def test_ndcg_by_hand() -> None:
    # relevant at ranks 2 and 3 of 3; ideal puts both at ranks 1 and 2
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(RANKED, {"d1", "d2"}, 3) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["d1", "d2"], {"d1", "d2"}, 5) == pytest.approx(1.0)


def test_normalisation_keeps_letters_of_every_script() -> None:
    assert normalize_answer("The Café's naïve, déjà-vu!") == "café s naïve déjà vu"
    assert normalize_answer("Straße «München»") == "strasse münchen"
    assert normalize_answer("Привет, мир.") == "привет мир"


def test_exact_match_ignores_case_punctuation_and_articles() -> None:
    assert exact_match("The Eiffel Tower.", "eiffel tower") == 1.0
    assert exact_match("Eiffel Tower, Paris", "Eiffel Tower") == 0.0


def test_token_f1_by_hand() -> None:
    # 4 tokens each, 2 shared ("25", "minutes"): P = R = 1/2
    assert token_f1("claims take 25 minutes", "triage takes 25 minutes") == pytest.approx(
        2 * (2 / 4) * (2 / 4) / (2 / 4 + 2 / 4)
    )
    assert token_f1("a cat sat down", "the cat sat") == pytest.approx(2 * (2 / 3) * 1.0 / (2 / 3 + 1.0))
    assert token_f1("", "") == 1.0
    assert token_f1("anything", "") == 0.0


def test_token_f1_scores_unspaced_scripts_by_character() -> None:
    assert token_f1("東京タワー", "東京") == pytest.approx(2 * (2 / 5) * 1.0 / (2 / 5 + 1.0))


def test_bootstrap_delta_is_seeded_and_brackets_the_difference() -> None:
    baseline = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    candidate = [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]

    first = bootstrap_delta(baseline, candidate)
    again = bootstrap_delta(baseline, candidate)

    assert first == again
    assert first is not None
    assert first.delta == pytest.approx(0.5)
    assert first.low <= 0.5 <= first.high
    assert first.low > 0 and first.significant


def test_bootstrap_delta_of_identical_runs_is_zero_and_not_significant() -> None:
    same = [0.2, 0.4, 0.9]
    interval = bootstrap_delta(same, same)
    assert interval is not None
    assert (interval.delta, interval.low, interval.high) == (0.0, 0.0, 0.0)
    assert not interval.significant
    assert bootstrap_delta([], [1.0]) is None


def test_unpaired_bootstrap_accepts_different_sizes() -> None:
    interval = bootstrap_delta([0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0, 1.0], paired=False)
    assert interval is not None
    assert interval.delta == pytest.approx(0.8 - 1 / 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"faithfulness": 5, "relevance": 1}', (1.0, 0.0)),
        ('{"faithfulness": 3, "relevance": 4}', (0.5, 0.75)),
    ],
)
def test_judgement_parses_to_unit_scale(text: str, expected: tuple[float, float]) -> None:
    judgement = parse_judgement(text)
    assert judgement is not None
    assert (judgement.faithfulness, judgement.relevance) == expected


@pytest.mark.parametrize(
    "text",
    ['{"faithfulness": 5', '{"faithfulness": 9, "relevance": 1}', '{"relevance": 2}', "[1, 2]", "five", ""],
)
def test_unparseable_judgements_are_none(text: str) -> None:
    assert parse_judgement(text) is None
