from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from django.db.models import QuerySet

from accounts.selectors import user_client, user_is_provider
from engagements.models import Assignment, Engagement


def engagement_list_for_user(*, user: Any) -> QuerySet[Engagement]:
    """Engagements ``user`` may see: provider staff see the whole practice, client users their own client's."""
    qs = Engagement.objects.select_related("client")
    if user_is_provider(user):
        return qs
    client = user_client(user)
    if client is None:
        return qs.none()
    return qs.filter(client=client)


def engagement_get_for_user(*, user: Any, uuid: uuid_lib.UUID | str) -> Engagement | None:
    return engagement_list_for_user(user=user).filter(uuid=uuid).first()


def engagement_user_can_edit(*, engagement: Engagement, user: Any) -> bool:
    """Only provider staff assigned to the engagement (or superusers) change it."""
    if not user_is_provider(user):
        return False
    if user.is_superuser:
        return True
    return Assignment.objects.filter(engagement=engagement, user=user).exists()


def engagement_user_is_lead(*, engagement: Engagement, user: Any) -> bool:
    if not user_is_provider(user):
        return False
    if user.is_superuser:
        return True
    return Assignment.objects.filter(engagement=engagement, user=user, role=Assignment.Role.LEAD).exists()
