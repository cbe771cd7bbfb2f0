from __future__ import annotations

from django.apps import AppConfig


class RagConfig(AppConfig):
    name = "rag"

    def ready(self) -> None:
        from rag import metrics  # noqa: F401 - registers the knowledge-base gate providers
        from rag.prototypes import admin, gates, review_section, tasks  # noqa: F401 - admin, gate providers, pack, tasks
