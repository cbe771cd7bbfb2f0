"""When a prototype should say the documents do not answer: the signal, its curve, and a threshold per prototype.

The signal is how far the best passage stands out from its neighbours: the best passage's cosine similarity to the
question minus the mean similarity of the next ``NEIGHBOURS - 1`` candidates. A question the documents answer tends
to have one passage much closer than the rest; a question they do not answer lands about as close to many passages.
On the public FAQ sets in ``bench/`` it separates answerable from unanswerable questions with an AUROC of about
0.77, where the best passage's similarity alone gives about 0.66 (both with all-MiniLM-L6-v2; see bench/README.md).
Its scale depends on the embedding model, which is why each prototype calibrates its own threshold from its eval
dataset's unanswerable cases: ``calibrate`` picks the threshold that wrongly declines at most the share of
answerable questions the FDE allows, and reports how many unanswerable ones it then declines.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag.models.prototypes import DEFAULT_ABSTAIN_BELOW

NEIGHBOURS = 10
SIGNAL = "margin-over-neighbours"
SIGNAL_LABEL = "best passage's similarity above its neighbours'"
# The threshold for all-MiniLM-L6-v2 at which 10% of the public sets' answerable questions are declined.
DEFAULT_THRESHOLD = DEFAULT_ABSTAIN_BELOW


def answerability(similarities: Sequence[float]) -> float:
    """The signal from the vector candidates' cosine similarities, best first (0 when there are none)."""
    if not similarities:
        return 0.0
    best, rest = similarities[0], list(similarities[1:NEIGHBOURS])
    return float(best - (sum(rest) / len(rest) if rest else 0.0))


def auroc(answerable: Sequence[float], unanswerable: Sequence[float]) -> float | None:
    """The chance that an answerable question scores above an unanswerable one (ties count half); None without both.

    The Mann-Whitney U statistic, computed by sorting, so large datasets cost n log n.
    """
    if not answerable or not unanswerable:
        return None
    ordered = sorted(unanswerable)
    wins = 0.0
    for score in answerable:
        below = bisect.bisect_left(ordered, score)
        ties = bisect.bisect_right(ordered, score) - below
        wins += below + ties / 2
    return wins / (len(answerable) * len(unanswerable))


@dataclass(frozen=True)
class CurvePoint:
    threshold: float  # decline when the signal is below this
    unanswerable_declined: float  # share of unanswerable questions declined (want high)
    answerable_declined: float  # share of answerable questions wrongly declined (want low)


def curve(answerable: Sequence[float], unanswerable: Sequence[float]) -> list[CurvePoint]:
    """The trade-off at every threshold that changes a decision, from declining nothing to declining everything."""
    scores = sorted(set(answerable) | set(unanswerable))
    thresholds = [scores[0] if scores else 0.0] + [(low + high) / 2 for low, high in itertools.pairwise(scores)]
    thresholds.append(scores[-1] + 1e-6 if scores else 1.0)
    return [curve_point(t, answerable, unanswerable) for t in thresholds]


def _share_below(values: Sequence[float], threshold: float) -> float:
    return sum(1 for v in values if v < threshold) / len(values) if values else 0.0


def curve_point(threshold: float, answerable: Sequence[float], unanswerable: Sequence[float]) -> CurvePoint:
    return CurvePoint(threshold, _share_below(unanswerable, threshold), _share_below(answerable, threshold))


@dataclass(frozen=True)
class Calibration:
    threshold: float
    unanswerable_declined: float
    answerable_declined: float
    auroc: float | None
    answerable: int
    unanswerable: int
    target: float  # the most answerable questions the FDE allows to be declined, as a share


def calibrate(answerable: Sequence[float], unanswerable: Sequence[float], *, max_declined: float) -> Calibration:
    """The highest threshold that declines at most ``max_declined`` of the answerable questions.

    The highest such threshold declines the most unanswerable questions. It sits halfway between the last answerable
    score it may decline and the next score up, so a slightly different score in use does not flip a decision.
    """
    if not answerable:
        raise ValueError("Calibration needs answerable questions.")
    ordered = sorted(answerable)
    allowed = math.floor(max_declined * len(ordered) + 1e-9)
    if allowed >= len(ordered):
        threshold = ordered[-1] + 1e-6
    else:
        keep = ordered[allowed]  # the lowest answerable score that must still be answered
        lower = [s for s in (*ordered, *unanswerable) if s < keep]
        threshold = (max(lower) + keep) / 2 if lower else keep
    point = curve_point(threshold, answerable, unanswerable)
    return Calibration(
        threshold=threshold,
        unanswerable_declined=point.unanswerable_declined,
        answerable_declined=point.answerable_declined,
        auroc=auroc(answerable, unanswerable),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        target=max_declined,
    )
