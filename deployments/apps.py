from __future__ import annotations

from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"

    def ready(self) -> None:
        # Imported for their registrations: the call-log and load-test gate providers, the review pack's latency
        # section, and the ROI's serving prices.
        from deployments import gates, review_section, roi_prices  # noqa: F401
        from deployments.loadtest import gates as loadtest_gates  # noqa: F401
        from deployments.loadtest import review_section as loadtest_review_section  # noqa: F401
