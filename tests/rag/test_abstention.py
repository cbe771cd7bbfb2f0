from __future__ import annotations

import pytest

from rag import abstention


def test_answerability_is_the_best_similarity_above_the_mean_of_its_neighbours() -> None:
    assert abstention.answerability([0.8, 0.5, 0.4, 0.3]) == pytest.approx(0.8 - 0.4)
    # Only the next NEIGHBOURS - 1 candidates count.
    similarities = [0.9] + [0.5] * 9 + [0.0] * 20
    assert abstention.answerability(similarities) == pytest.approx(0.4)
    assert abstention.answerability([0.7]) == pytest.approx(0.7)
    assert abstention.answerability([]) == 0.0


def test_auroc_counts_pairs_and_ties_half() -> None:
    # Pairs answerable > unanswerable: 0.3 beats both, 0.2 beats both, 0.1 beats 0.05 only: 5 of 6.
    assert abstention.auroc([0.3, 0.2, 0.1], [0.15, 0.05]) == pytest.approx(5 / 6)
    assert abstention.auroc([0.2], [0.2]) == pytest.approx(0.5)
    assert abstention.auroc([0.1, 0.1], [0.3, 0.1]) == pytest.approx(0.25)
    assert abstention.auroc([0.1], []) is None


def test_the_curve_runs_from_declining_nothing_to_declining_everything() -> None:
    points = abstention.curve([0.3, 0.2, 0.1], [0.15, 0.05])
    first, last = points[0], points[-1]
    assert (first.answerable_declined, first.unanswerable_declined) == (0.0, 0.0)
    assert (last.answerable_declined, last.unanswerable_declined) == (1.0, 1.0)
    shares = [(p.answerable_declined, p.unanswerable_declined) for p in points]
    assert shares == sorted(shares)
    assert (1 / 3, 1.0) in shares  # between 0.15 and 0.2: both unanswerable declined, one answerable too


def test_calibration_takes_the_highest_threshold_within_the_target() -> None:
    answerable = [0.05, 0.12, 0.2, 0.25, 0.3, 0.31, 0.32, 0.4, 0.45, 0.5]
    unanswerable = [0.01, 0.04, 0.1, 0.11, 0.22]
    # 10% of 10 answerable: one may be declined, so the threshold sits between 0.11 (the best score below 0.12)
    # and 0.12, declining 0.05 and every unanswerable case below 0.12.
    c = abstention.calibrate(answerable, unanswerable, max_declined=0.10)
    assert c.threshold == pytest.approx(0.115)
    assert (c.answerable_declined, c.unanswerable_declined) == (0.1, 0.8)
    strict = abstention.calibrate(answerable, unanswerable, max_declined=0.0)
    assert strict.threshold == pytest.approx(0.045) and strict.answerable_declined == 0.0
    assert strict.unanswerable_declined == 0.4
    assert abstention.calibrate(answerable, unanswerable, max_declined=1.0).answerable_declined == 1.0
    with pytest.raises(ValueError, match="answerable"):
        abstention.calibrate([], unanswerable, max_declined=0.1)
