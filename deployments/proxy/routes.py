"""Who is calling and where their call may go: a key's application and the deployments it may use.

Looked up once per key and kept in the process for ``GATEWAY_KEY_CACHE_SECONDS``, so the database is not on the
path of every call; revoking a key or changing its deployments takes effect within that time.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from deployments.models import Deployment, GatewayKey

MAX_FALLBACK_DEPTH = 3
_MAX_CACHED_KEYS = 10_000


@dataclass(frozen=True)
class Route:
    """What the gateway needs to call one deployment, copied out of the ORM so no query runs per call."""

    id: int
    name: str
    served_model_name: str
    base_url: str
    api_key: str
    context_window: int
    concurrency: int
    active: bool
    priority_scheduling: bool
    healthy: bool = True
    fallback: Route | None = None

    @classmethod
    def of(cls, deployment: Deployment, depth: int = 0) -> Route:
        fallback = deployment.fallback if depth < MAX_FALLBACK_DEPTH else None
        return cls(
            id=deployment.pk,
            name=deployment.name,
            served_model_name=deployment.served_model_name,
            base_url=deployment.base_url.rstrip("/"),
            api_key=deployment.api_key,
            context_window=deployment.context_window,
            concurrency=deployment.gateway_concurrency,
            active=deployment.is_active,
            # The fleet record's vLLM settings say whether the server runs with --scheduling-policy priority.
            priority_scheduling=deployment.priority_scheduling,
            # Beat's last health check; not checked yet counts as healthy.
            healthy=deployment.health_ok is not False,
            fallback=cls.of(fallback, depth + 1) if fallback is not None and fallback.pk != deployment.pk else None,
        )

    @property
    def routable(self) -> bool:
        """Whether calls may be sent here at all (an inactive deployment never is)."""
        return self.active


@dataclass(frozen=True)
class KeyInfo:
    key_id: int
    application_id: int
    application_name: str
    engagement_id: int
    priority: str
    requests_per_minute: int
    routes: tuple[Route, ...] = field(default_factory=tuple)

    def model_names(self) -> list[str]:
        return sorted({r.served_model_name for r in self.routes if r.routable})

    def candidates(self, model: str) -> list[Route]:
        """The deployments to try for ``model``, in order: those serving it, then their fallbacks."""
        chosen = [r for r in self.routes if r.name == model] or [r for r in self.routes if r.served_model_name == model]
        ordered: list[Route] = []
        for route in chosen:
            step: Route | None = route
            while step is not None:
                if step.routable and all(step.id != o.id for o in ordered):
                    ordered.append(step)
                step = step.fallback
        # Deployments whose last health check failed go last: a healthy fallback answers first, and a deployment
        # that is down with nothing to stand in for it is still tried, so the caller gets its real error.
        return sorted(ordered, key=lambda r: not r.healthy)


def key_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _load(digest: str) -> KeyInfo | None:
    close_old_connections()
    key = GatewayKey.objects.select_related("application").filter(digest=digest, revoked_at__isnull=True).first()
    if key is None:
        return None
    deployments = key.deployments.select_related("fallback__fallback__fallback")
    return KeyInfo(
        key_id=key.pk,
        application_id=key.application_id,
        application_name=key.application.name,
        engagement_id=key.application.engagement_id,
        priority=key.application.priority,
        requests_per_minute=key.requests_per_minute,
        routes=tuple(Route.of(d) for d in deployments),
    )


_cache: dict[str, tuple[float, KeyInfo | None]] = {}


def key_cached(raw: str) -> KeyInfo | None:
    """The key's details when this process already knows it is valid; no database, no Redis."""
    hit = _cache.get(key_digest(raw))
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


async def key_lookup(raw: str) -> KeyInfo | None:
    digest = key_digest(raw)
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    info = await sync_to_async(_load, thread_sensitive=False)(digest)
    if len(_cache) >= _MAX_CACHED_KEYS:
        _cache.clear()
    _cache[digest] = (now + settings.GATEWAY_KEY_CACHE_SECONDS, info)
    return info
