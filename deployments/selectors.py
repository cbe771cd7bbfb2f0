from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from accounts.selectors import user_client, user_is_provider
from deployments.models import Deployment


def deployment_list_for_user(*, user: Any) -> QuerySet[Deployment]:
    """Provider staff see every deployment; a client's users see only those of their own engagements."""
    qs = Deployment.objects.select_related("engagement__client")
    if user_is_provider(user):
        return qs
    client = user_client(user)
    if client is None:
        return qs.none()
    return qs.filter(Q(engagement__client=client))


def deployment_list_active() -> QuerySet[Deployment]:
    return Deployment.objects.filter(is_active=True)
