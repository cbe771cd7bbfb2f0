from __future__ import annotations

from django.apps import AppConfig


class EngagementsConfig(AppConfig):
    name = "engagements"
