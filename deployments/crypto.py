"""Encryption at rest for secrets kept in the database (endpoint API keys), with Fernet."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    key = settings.FIELD_ENCRYPTION_KEY
    if not key:
        # Derived from SECRET_KEY so a default install works; set FIELD_ENCRYPTION_KEY to rotate them apart.
        key = base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()).decode()
    return Fernet(key.encode())


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "A stored API key cannot be decrypted: FIELD_ENCRYPTION_KEY (or DJANGO_SECRET_KEY) changed since it "
            "was saved. Enter the key again on the deployment."
        ) from exc
