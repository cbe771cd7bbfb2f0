"""Gate evidence from the engagement's ROI (its primary scenario), registered in the metric registry."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from engagements.metrics import MetricResult, register
from engagements.models import Engagement
from engagements.roi.calc import RoiResult
from engagements.roi.inputs import roi_bundle
from engagements.roi.money import format_money
from engagements.roi.selectors import roi_compute


def _primary_result(engagement: Engagement, params: dict[str, Any]) -> tuple[RoiResult | None, str, str]:
    """The ROI under the named scenario (``params.scenario``) or the primary one; else why there is none."""
    url = reverse("engagements:section", kwargs={"uuid": engagement.uuid, "section": "roi"})
    bundle = roi_bundle(engagement=engagement)
    wanted = params.get("scenario")
    scenario = next((s for s in bundle.scenarios if s.name == wanted), None) if wanted else bundle.primary
    if scenario is None:
        missing = f"no ROI scenario named “{wanted}”" if wanted else "no ROI scenario saved yet"
        return None, missing, url
    if not bundle.rules:
        return None, "no valuation rules yet, so the ROI counts no benefit", url
    return roi_compute(bundle=bundle, scenario=scenario), scenario.name, url


@register(
    "roi.payback_months",
    label="ROI payback",
    unit="months",
    description="Months from the first month counted until cumulative benefit reaches cumulative investment for "
    "good, under the primary ROI scenario.",
    params_help='{"scenario": "Conservative"} (optional; default: the primary scenario)',
)
def payback_months(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    result, scenario, url = _primary_result(engagement, params)
    if result is None:
        return MetricResult(None, scenario, url)
    horizon = len(result.months)
    if result.payback_months is None:
        return MetricResult(None, f"{scenario}: does not pay back within {horizon} months", url)
    detail = f"{scenario}: pays back in {result.payback_month:%b %Y}, month {result.payback_months:.1f} of {horizon}"
    return MetricResult(round(result.payback_months, 1), detail, url)


@register(
    "roi.roi_percent",
    label="ROI over the horizon",
    unit="%",
    description="(Total benefit - total investment) / total investment × 100 over the horizon, undiscounted, "
    "under the primary ROI scenario.",
    params_help='{"scenario": "Conservative"} (optional; default: the primary scenario)',
)
def roi_percent(engagement: Engagement, params: dict[str, Any]) -> MetricResult:
    result, scenario, url = _primary_result(engagement, params)
    if result is None or result.roi_percent is None:
        return MetricResult(None, scenario if result is None else f"{scenario}: no investment recorded yet", url)
    currency = engagement.currency
    detail = (
        f"{scenario}: {format_money(result.total_benefit, currency)} benefit on "
        f"{format_money(result.total_investment, currency)} invested over {len(result.months)} months"
    )
    return MetricResult(round(result.roi_percent, 1), detail, url)
