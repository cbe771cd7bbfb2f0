"""Where the ROI's infrastructure line gets measured prices from, without engagements importing deployments.

The app that measures what serving costs registers one function when Django starts (in its ``AppConfig.ready``)::

    from engagements.roi.infrastructure import MeasuredPrices, register_price_source

    @register_price_source
    def deployment_prices(engagement_ids):
        # one query for all engagements: {engagement_id: MeasuredPrices(...)}
        return {...}

The function takes engagement ids (so a portfolio of engagements costs one call, not one per engagement) and
returns, for those it has figures for, the prices of the deployments serving each engagement. Any price may be
None; the ROI then uses the price the FDE entered for that line, and says so. Without a registered source every
engagement uses its entered prices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeasuredPrices:
    """Serving prices measured for one engagement, in ``currency``."""

    currency: str
    per_million_input: float | None = None
    per_million_output: float | None = None
    hourly: float | None = None
    monthly: float | None = None
    detail: str = ""
    source_url: str = ""


PriceSource = Callable[[list[int]], dict[int, MeasuredPrices]]
_sources: list[PriceSource] = []


def register_price_source(fn: PriceSource) -> PriceSource:
    if fn not in _sources:
        _sources.append(fn)
    return fn


def unregister_price_source(fn: PriceSource) -> None:
    if fn in _sources:
        _sources.remove(fn)


def measured_prices(engagement_ids: Iterable[int]) -> dict[int, MeasuredPrices]:
    """Measured prices per engagement id from the registered sources; a later source fills what earlier ones lack."""
    ids = list(engagement_ids)
    found: dict[int, MeasuredPrices] = {}
    for source in _sources:
        try:
            prices = source(ids)
        except Exception:  # a failing price source must not take the ROI page down; entered prices still apply
            logger.warning("infrastructure price source %r failed", source, exc_info=True)
            continue
        for engagement_id, price in prices.items():
            found.setdefault(engagement_id, price)
    return found
