from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from config.metrics import registry
        from jobs import tasks  # noqa: F401 - registers the sweeper task
        from jobs.metrics import JobsCollector

        registry.register(JobsCollector())
