"""Test helper: forget every rate-limit window of this test session (keys carry the session's own prefix)."""

from __future__ import annotations

from django.conf import settings

from config.health import redis_client


def clear_limits() -> None:
    client = redis_client()
    for key in client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:limits*", count=500):
        client.delete(key)
