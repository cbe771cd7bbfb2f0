from __future__ import annotations

from django.apps import AppConfig


class EngagementsConfig(AppConfig):
    name = "engagements"

    def ready(self) -> None:
        from engagements import providers  # noqa: F401  (registers the metric providers)
        from engagements.review import gate_sections, tasks  # noqa: F401  (the review pack's sections and task)
        from engagements.roi import providers as roi_providers  # noqa: F401  (and the ROI's)
