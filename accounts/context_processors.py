from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.selectors import user_client, user_is_provider


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"nav_is_provider": user_is_provider(user), "nav_client": user_client(user)}
