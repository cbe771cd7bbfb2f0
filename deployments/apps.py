from __future__ import annotations

from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"

    def ready(self) -> None:
        from deployments import (
            gates,  # noqa: F401 - registers the call-log gate providers
            review_section,  # noqa: F401 - the review pack's latency section
            roi_prices,  # noqa: F401 - gives the ROI the engagements' measured serving prices
        )
