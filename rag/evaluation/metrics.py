"""Evaluation metrics as pure functions: retrieval ranking, answer overlap and bootstrap confidence intervals.

Retrieval metrics take the ranked list of retrieved document ids (duplicates from several chunks of one document
count once, at their best rank) and the set of relevant ids, with binary relevance. Answer metrics follow SQuAD's
exact match and token F1, with a normalisation that keeps letters of every script.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
# Scripts written without spaces between words: each character is scored as a token of its own.
_UNSPACED = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af])")


def unique_in_order(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    return [i for i in ids if not (i in seen or seen.add(i))]  # type: ignore[func-returns-value]


def hit_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    return 1.0 if any(doc in relevant for doc in unique_in_order(retrieved)[:k]) else 0.0


def recall_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(unique_in_order(retrieved)[:k]) & relevant) / len(relevant)


def reciprocal_rank(retrieved: Sequence[str], relevant: set[str]) -> float:
    for rank, doc in enumerate(unique_in_order(retrieved), start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(unique_in_order(retrieved)[:k]) if doc in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and symbols of any script, drop English articles, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    return _UNSPACED.sub(r" \1 ", normalize_answer(text)).split()


def exact_match(prediction: str, reference: str) -> float:
    return 1.0 if normalize_answer(prediction) == normalize_answer(reference) else 0.0


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = answer_tokens(prediction), answer_tokens(reference)
    if not pred or not ref:
        return 1.0 if pred == ref else 0.0
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class DeltaInterval:
    """The difference of means (candidate minus baseline) with a bootstrap confidence interval."""

    delta: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def bootstrap_delta(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    paired: bool = True,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> DeltaInterval | None:
    """Percentile bootstrap of ``mean(candidate) - mean(baseline)``; ``paired`` when both scored the same cases.

    None when either side has no values. Seeded, so the same runs always give the same interval.
    """
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if not len(a) or not len(b) or (paired and len(a) != len(b)):
        return None
    rng = np.random.default_rng(seed)
    delta = float(b.mean() - a.mean())
    if paired:
        samples: tuple[np.ndarray, ...] = (b - a,)

        def statistic(d: np.ndarray, axis: int = -1) -> np.ndarray:
            return np.mean(d, axis=axis)
    else:
        samples = (a, b)

        def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:  # type: ignore[misc]
            return np.mean(y, axis=axis) - np.mean(x, axis=axis)

    if len(samples[0]) < 2 or np.ptp(np.concatenate(samples)) == 0:
        return DeltaInterval(delta=delta, low=delta, high=delta, n=len(b))
    result = stats.bootstrap(
        samples,
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=rng,
    )
    interval = result.confidence_interval
    return DeltaInterval(delta=delta, low=float(interval.low), high=float(interval.high), n=len(b))


@dataclass(frozen=True)
class MeanInterval:
    """A mean with a bootstrap confidence interval."""

    mean: float
    low: float
    high: float
    n: int


def bootstrap_mean(
    values: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> MeanInterval | None:
    """Percentile bootstrap interval of ``mean(values)``; None without values. Seeded, so a run's interval is stable."""
    x = np.asarray(values, dtype=float)
    if not len(x):
        return None
    mean = float(x.mean())
    if len(x) < 2 or np.ptp(x) == 0:
        return MeanInterval(mean=mean, low=mean, high=mean, n=len(x))
    result = stats.bootstrap(
        (x,),
        np.mean,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return MeanInterval(mean=mean, low=float(interval.low), high=float(interval.high), n=len(x))


def mean_or_none(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


_SMALL_NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
_NUMBER_WORDS = {
    w: str(n) for n, w in enumerate([*_SMALL_NUMBERS.split(), "seventeen", "eighteen", "nineteen", "twenty"])
}
_FACT_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _numbers(text: str) -> set[str]:
    """The numbers in ``text``, thousands separators dropped and small English number words as digits."""
    words = [_NUMBER_WORDS.get(w, w) for w in re.findall(r"[\w.,]+", text.casefold())]
    found = set()
    for match in _FACT_NUMBER.finditer(" ".join(words)):
        number = match.group(0).rstrip(".,")
        # 2,500 and 2.500 are thousands; 8.33 and 8,33 are decimals: a separator before exactly three digits groups
        found.add(re.sub(r"[.,](?=\d{3}\b)", "", number).replace(",", "."))
    return found


def facts_found(answer: str, reference: str) -> float | None:
    """Share of the reference's numbers (amounts, days, limits) that the answer states; None when it has none.

    The key facts of most reference answers are numbers, and a number is right or wrong whatever the wording.
    """
    expected = _numbers(reference)
    if not expected:
        return None
    return len(expected & _numbers(answer)) / len(expected)
