from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models

HEX_COLOUR = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", "Give the accent colour as # and six hex digits, for example #2f6fed."
)


def _logo_path(client: Client, filename: str) -> str:
    # Logos are re-encoded to PNG, so the stored name never carries the uploader's file name or extension.
    return f"client-logos/{client.uuid}.png"


class Client(models.Model):
    """A customer organisation. Everything a client's users may see hangs off one of its engagements."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    industry = models.CharField(max_length=120, blank=True)
    brand_name = models.CharField(
        "name in the portal", max_length=200, blank=True, help_text="Shown in the portal's header; blank uses the name."
    )
    logo = models.FileField(upload_to=_logo_path, blank=True)
    accent_color = models.CharField("accent colour", max_length=7, blank=True, validators=[HEX_COLOUR])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def portal_name(self) -> str:
        return self.brand_name or self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("is_provider", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in: either provider staff (an FDE) or a member of exactly one client."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    is_provider = models.BooleanField(
        "provider staff (FDE)",
        default=False,
        help_text="Provider staff run engagements; everyone else belongs to one client through a membership.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email.split("@")[0]


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "client_admin", "Client admin"
        MEMBER = "client_member", "Client member"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client__name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.client} ({self.get_role_display()})"


class ApiToken(models.Model):
    """A personal token for the REST API; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
