from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        from config.metrics import registry
        from jobs import tasks  # noqa: F401 - registers the sweeper task
        from jobs.metrics import JobsCollector
        from jobs.periodic import PeriodicCollector  # its import connects the signals that record each run

        registry.register(JobsCollector())
        registry.register(PeriodicCollector())
