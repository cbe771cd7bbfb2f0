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


def client_get_for_user(*, user: User | AnonymousUser | Any, uuid: Any) -> Client | None:
    """A client the user may see: provider staff see every client, a client's users only their own."""
    if user_is_provider(user):
        return Client.objects.filter(uuid=uuid).first()
    client = user_client(user)
    return client if client is not None and str(client.uuid) == str(uuid) else None


def user_is_client_admin(user: User | AnonymousUser | Any) -> bool:
    if user_client(user) is None:
        return False
    return bool(user.membership.role == Membership.Role.ADMIN)  # type: ignore[union-attr]


def client_user_can_manage(*, client: Client, user: User | AnonymousUser | Any) -> bool:
    """Provider staff and the client's own admins change the client's portal (branding, shared documents)."""
    if user_is_provider(user):
        return True
    own = user_client(user)
    return own is not None and own.pk == client.pk and user_is_client_admin(user)
