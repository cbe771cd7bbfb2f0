from __future__ import annotations

from django.apps import AppConfig


class RagConfig(AppConfig):
    name = "rag"

    def ready(self) -> None:
        from rag import metrics  # noqa: F401 - registers the knowledge-base gate providers
        from rag.prototypes import gates, tasks  # noqa: F401 - registers gate providers and Celery tasks
