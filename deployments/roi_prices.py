"""The ROI's measured infrastructure prices: what an engagement's own deployments cost, from the fleet's figures.

Registered with ``engagements.roi.infrastructure`` when the app starts. For each engagement, over the last 30 days:
the hourly price of its deployments' hardware (summed), and $ per 1M input and output tokens (weighted by each
deployment's calls). A deployment without hardware or traffic adds nothing, and the ROI keeps the FDE's entered
price for whatever is missing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from deployments.costs import Figures, fleet_figures
from deployments.models import Deployment
from engagements.roi.infrastructure import MeasuredPrices, register_price_source

WINDOW = timedelta(days=30)


def _weighted(figures: list[Figures], attribute: str) -> float | None:
    pairs = [(getattr(f, attribute), f.calls) for f in figures if getattr(f, attribute) is not None and f.calls]
    calls = sum(weight for _, weight in pairs)
    return sum(value * weight for value, weight in pairs) / calls if calls else None


@register_price_source
def deployment_prices(engagement_ids: list[int]) -> dict[int, MeasuredPrices]:
    deployments = list(
        Deployment.objects.filter(engagement_id__in=engagement_ids, is_active=True).select_related("hardware")
    )
    if not deployments:
        return {}
    figures = fleet_figures(deployments=deployments, start=timezone.now() - WINDOW)
    by_engagement: dict[int, list[Figures]] = defaultdict(list)
    for deployment in deployments:
        by_engagement[deployment.engagement_id].append(figures[deployment.pk])  # type: ignore[index]
    prices = {}
    for engagement_id, group in by_engagement.items():
        hourly = [f.hourly_usd for f in group if f.hourly_usd is not None]
        names = ", ".join(f.deployment.name for f in group)
        prices[engagement_id] = MeasuredPrices(
            currency="USD",
            per_million_input=_weighted(group, "usd_per_1m_input"),
            per_million_output=_weighted(group, "usd_per_1m_output"),
            hourly=sum(hourly) if hourly else None,
            detail=f"measured on {names} over the last 30 days (hardware prices from the catalogue)",
            source_url=reverse("deployments:list"),
        )
    return prices
