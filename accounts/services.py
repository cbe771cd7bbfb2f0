from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from accounts.branding import logo_png
from accounts.models import ApiToken, Client, Membership, User
from config.ratelimit import Limit, RateLimited, client_address, hit, refusal
from config.ratelimit import reset as reset_limit


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


def api_token_authenticate_from(*, raw: str, address: str) -> User | None:
    """The token's user, or None; refuses every token from an address that sent too many bad ones lately.

    Raises ``RateLimited`` (HTTP 429 with Retry-After) while the address is locked out, so guessing tokens from
    one address stops after a few tries; the lock lifts when the window passes or with ``access_unlock``.
    """
    window = Limit("bad-api-token-address", address)
    refused = refusal(window)
    if refused is not None:
        raise RateLimited(
            f"Too many requests with an unknown or revoked API token came from your address. {refused.message} "
            "Check the token you send; provider staff can lift the lock with `manage.py access_unlock`.",
            retry_after=refused.retry_after,
        )
    user = api_token_authenticate(raw=raw)
    if user is None:
        hit(window)
    return user


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


def access_unlock(*, email: str = "", address: str = "") -> int:
    """Lift login lockouts for an account and/or an address, and the address's bad-API-token lock.

    Returns how many recorded login failures were cleared.
    """
    from axes.utils import reset

    cleared = 0
    if email:
        cleared += reset(username=email.lower())
    if address:
        cleared += reset(ip=address)
        reset_limit(Limit("bad-api-token-address", address))
    return cleared


def caller_is_provider(request: HttpRequest) -> bool:
    """Whether the request comes from provider staff: a logged-in session, or a provider's API token (Bearer).

    Answers False rather than raising when the database cannot be read, so health reports still answer.
    """
    from accounts.selectors import user_is_provider

    try:
        if user_is_provider(request.user):
            return True
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return False
        user = api_token_authenticate_from(raw=raw.strip(), address=client_address(request))
        return user_is_provider(user)
    except (DatabaseError, RateLimited):
        return False


@transaction.atomic
def client_branding_update(
    *,
    client: Client,
    brand_name: str,
    accent_color: str,
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
) -> Client:
    """Set how the client's portal looks; a new logo is checked and re-encoded (``accounts.branding``)."""
    client.brand_name = brand_name.strip()
    client.accent_color = accent_color.strip().lower()
    client.full_clean()
    if logo is not None:
        png = logo_png(logo)
        if client.logo:
            client.logo.delete(save=False)
        client.logo.save("logo.png", png, save=False)
    elif remove_logo and client.logo:
        client.logo.delete(save=False)
        client.logo = ""  # type: ignore[assignment]
    client.save()
    return client
