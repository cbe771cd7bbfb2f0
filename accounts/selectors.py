from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser

from accounts.models import Client, Membership, User


def user_is_provider(user: User | AnonymousUser | Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_provider", False))


def user_client(user: User | AnonymousUser | Any) -> Client | None:
    """The client a non-provider user belongs to, or None."""
    if not getattr(user, "is_authenticated", False) or user_is_provider(user):
        return None
    try:
        return user.membership.client  # type: ignore[union-attr]
    except Membership.DoesNotExist:
        return None


def client_list_for_user(*, user: User) -> list[Client]:
    if user_is_provider(user):
        return list(Client.objects.all())
    client = user_client(user)
    return [client] if client else []
