from __future__ import annotations

import pytest

from rag.evaluation.metrics import facts_found
from rag.prototypes.citing import read_citations
from rag.prototypes.loops import looping, without_repeats


@pytest.mark.parametrize(
    ("text", "expected_text", "cited"),
    [
        ("Within 14 days [1].", "Within 14 days [1].", [1]),
        ("See [Passage 2] and [source 1].", "See [2] and [1].", [2, 1]),
        ("Both [1, 3] say so [3].", "Both [1, 3] say so [3].", [1, 3]),
        ("A range [2-3].", "A range [2, 3].", [2, 3]),
        ("Fullwidth 【2】.", "Fullwidth [2].", [2]),
        ("Footnote style [^1].", "Footnote style [1].", [1]),
        ("No markers at all.", "No markers at all.", []),
    ],
)
def test_markers_are_read_in_every_form_and_rewritten_as_numbers(
    text: str, expected_text: str, cited: list[int]
) -> None:
    citations = read_citations(text, passages=3)
    assert citations.text == expected_text
    assert citations.cited == cited
    assert citations.unknown == []


def test_a_number_that_names_no_passage_is_reported_not_cited() -> None:
    citations = read_citations("It is 2,500 EUR [4] and [1].", passages=2)
    assert citations.cited == [1]
    assert citations.unknown == [4]


def test_a_sentence_written_three_times_is_a_loop_and_is_kept_once() -> None:
    text = "Agents approve up to 2,500 EUR [1]. " + "The above explanation is correct. " * 3
    assert looping(text)
    assert without_repeats(text) == "Agents approve up to 2,500 EUR [1]. The above explanation is correct."


def test_a_span_repeated_back_to_back_is_a_loop() -> None:
    assert looping("The limit is " + "8.33 SDR per kg, " * 4)


def test_a_normal_answer_is_not_a_loop() -> None:
    text = "Concealed damage must be reported within 14 days [1]. Visible damage within 7 days [1]. 14 is not 7."
    assert not looping(text)
    assert without_repeats(text) == text


@pytest.mark.parametrize(
    ("answer", "reference", "expected"),
    [
        ("Agents approve claims up to 2500 EUR alone.", "2,500 EUR.", 1.0),
        ("Ask for at least 3 photographs [1].", "At least three photographs.", 1.0),
        ("It is 8.33 SDR per kilogram.", "8.33 SDR per kilogram of gross weight.", 1.0),
        ("Within 7 days.", "Within 14 calendar days of delivery.", 0.0),
        ("Between 7 and 9 days.", "Within 7 or 14 days.", 0.5),
        ("Anything.", "A written authorisation.", None),
    ],
)
def test_facts_found_compares_the_reference_numbers_whatever_the_wording(
    answer: str, reference: str, expected: float | None
) -> None:
    assert facts_found(answer, reference) == expected
