from __future__ import annotations

from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"

    def ready(self) -> None:
        # Registers the call-log gate providers and the review pack's latency section, and gives the ROI the
        # engagements' measured serving prices.
        from deployments import gates, review_section, roi_prices  # noqa: F401
