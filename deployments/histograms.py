"""Percentiles from Prometheus histogram buckets, computed the way PromQL's ``histogram_quantile`` does.

A scrape gives cumulative bucket counts (``le`` upper bounds, ``+Inf`` last). The increase of each bucket between
two scrapes is its new count minus its old one, or, when the counter went down (the server restarted), the new count
itself: Prometheus' counter-reset rule. ``quantile`` then finds the bucket holding rank q × observations and
interpolates linearly inside it, with 0 as the lower edge of the first bucket and the highest finite bound returned
when the rank falls in the ``+Inf`` bucket. No observations in the interval give ``None`` (Prometheus' NaN).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def counter_increase(previous: float | None, current: float) -> tuple[float, bool]:
    """The increase of a counter between two scrapes, and whether it was reset in between."""
    if previous is None:
        return 0.0, False
    if current < previous:
        return current, True
    return current - previous, False


def bucket_increase(previous: Sequence[float] | None, current: Sequence[float]) -> tuple[list[float], bool]:
    """Per-bucket increases of a histogram between two scrapes of the same bucket layout."""
    if previous is None or len(previous) != len(current):
        return [0.0] * len(current), False
    pairs = [counter_increase(p, c) for p, c in zip(previous, current, strict=True)]
    return [inc for inc, _ in pairs], any(reset for _, reset in pairs)


def quantile(q: float, upper_bounds: Sequence[float], cumulative: Sequence[float]) -> float | None:
    """The q-quantile of a histogram given its sorted bucket upper bounds and cumulative counts."""
    return quantiles([q], upper_bounds, cumulative)[0]


def quantiles(qs: Sequence[float], upper_bounds: Sequence[float], cumulative: Sequence[float]) -> list[float | None]:
    """``quantile`` for each of ``qs``, preparing the buckets once."""
    if any(not 0 <= q <= 1 for q in qs):
        raise ValueError("q must be between 0 and 1")
    buckets = _coalesce(sorted(zip(upper_bounds, cumulative, strict=True)))
    if not buckets or not math.isinf(buckets[-1][0]) or len(buckets) < 2:
        return [None for _ in qs]
    buckets = _monotonic(buckets)
    if buckets[-1][1] <= 0:
        return [None for _ in qs]
    return [_quantile(q, buckets) for q in qs]


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    rank = q * buckets[-1][1]
    b = next((i for i in range(len(buckets) - 1) if buckets[i][1] >= rank), len(buckets) - 1)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * (rank / count)


def _coalesce(buckets: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for bound, count in buckets:
        if merged and merged[-1][0] == bound:
            merged[-1] = (bound, merged[-1][1] + count)
        else:
            merged.append((bound, count))
    return merged


def _monotonic(buckets: list[tuple[float, float]]) -> list[tuple[float, float]]:
    # Independent resets of each bucket series can leave a lower bucket above a higher one; like Prometheus,
    # take the envelope so the search for the rank stays meaningful.
    highest, out = -math.inf, []
    for bound, count in buckets:
        highest = max(highest, count)
        out.append((bound, highest))
    return out
