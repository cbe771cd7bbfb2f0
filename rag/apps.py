from __future__ import annotations

from django.apps import AppConfig


class RagConfig(AppConfig):
    name = "rag"

    def ready(self) -> None:
        from rag.prototypes import gates, tasks  # noqa: F401 - registers gate providers and Celery tasks
