"""The gateway process: ``uvicorn deployments.proxy.asgi:app`` (the ``gateway`` line of the Procfile)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from deployments.proxy.app import build_app  # noqa: E402 - needs the settings loaded

app = build_app()
