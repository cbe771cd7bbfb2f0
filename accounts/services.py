from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiToken, Client, Membership, User


@transaction.atomic
def client_create(*, name: str, industry: str = "") -> Client:
    client = Client(name=name, slug=slugify(name)[:80], industry=industry)
    client.full_clean()
    client.save()
    return client


@transaction.atomic
def user_create_provider(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    user = User.objects.create_user(
        email, password, first_name=first_name, last_name=last_name, is_provider=True, is_staff=True
    )
    return user


@transaction.atomic
def user_create_client_member(
    *,
    client: Client,
    email: str,
    password: str,
    role: str = Membership.Role.MEMBER,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create a user who belongs to ``client``; client users never get provider or admin-site rights."""
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; use one of {', '.join(Membership.Role.values)}."})
    user = User.objects.create_user(email, password, first_name=first_name, last_name=last_name)
    Membership.objects.create(user=user, client=client, role=role)
    return user


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the raw token, which is never retrievable again."""
    raw = f"fde_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12], digest=api_token_digest(raw))
    return token, raw


def api_token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_authenticate(*, raw: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=api_token_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
