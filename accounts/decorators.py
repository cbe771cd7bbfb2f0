from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase

from accounts.selectors import user_is_provider


def provider_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The FDE workspace: logged-in provider staff only; to a client's user it does not exist (404)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not user_is_provider(request.user):
            raise Http404("This page is part of the provider workspace.")
        return view(request, *args, **kwargs)

    return wrapped
