from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError


def validate_endpoint_url(value: str) -> None:
    """An http(s) URL with a host; unlike URLValidator it accepts internal single-label hosts such as ``gpu-1``."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(
            "Enter the endpoint's full URL, starting with http:// or https://, e.g. http://gpu-1:8000/v1.",
            code="invalid",
        )
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValidationError("The port in this URL is not a number.", code="invalid") from exc
