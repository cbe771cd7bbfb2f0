"""Services for client applications and their gateway keys (writes); the reads are in ``deployments.selectors``."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments.models import ClientApplication, Deployment, GatewayKey, Priority
from deployments.proxy.routes import key_digest

KEY_PREFIX = "fgw-"


def deployments_for_engagement(*, engagement: Any) -> Any:
    """The deployments an engagement's keys may be scoped to: its own and those shared by the whole practice."""
    return Deployment.objects.filter(Q(engagement=engagement) | Q(engagement__isnull=True))


@transaction.atomic
def application_create(
    *, engagement: Any, name: str, actor: Any, description: str = "", priority: str = Priority.INTERACTIVE
) -> ClientApplication:
    application = ClientApplication(
        engagement=engagement, name=name, description=description, priority=priority, created_by=actor
    )
    application.full_clean()
    application.save()
    return application


@transaction.atomic
def gateway_key_create(
    *,
    application: ClientApplication,
    name: str,
    deployments: Iterable[Deployment],
    actor: Any,
    requests_per_minute: int = 120,
    raw: str | None = None,
) -> tuple[GatewayKey, str]:
    """Create a key scoped to ``deployments``; returns the row and the key itself, which is never shown again.

    ``raw`` lets the demo seed derive its key from the secret key instead of storing it anywhere.
    """
    deployments = list(deployments)
    allowed = set(deployments_for_engagement(engagement=application.engagement).values_list("pk", flat=True))
    if not deployments:
        raise ValidationError({"deployments": "Choose at least one deployment this key may call."})
    if any(d.pk not in allowed for d in deployments):
        raise ValidationError(
            {"deployments": "A key may only call this engagement's deployments and those shared by the practice."}
        )
    raw = raw or KEY_PREFIX + secrets.token_urlsafe(32)
    key = GatewayKey(
        application=application,
        name=name,
        prefix=raw[:12],
        digest=key_digest(raw),
        requests_per_minute=requests_per_minute,
        created_by=actor,
    )
    key.full_clean(exclude=["deployments"])
    key.save()
    key.deployments.set(deployments)
    return key, raw


@transaction.atomic
def gateway_key_revoke(*, key: GatewayKey) -> GatewayKey:
    """Stop the key working; every gateway process refuses it once its cached copy expires (a few seconds)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key
