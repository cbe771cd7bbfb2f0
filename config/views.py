from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from accounts.decorators import provider_required
from accounts.selectors import user_is_provider
from accounts.services import caller_is_provider
from config.health import check_all, down_view, public_view

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("engagements:list" if user_is_provider(request.user) else "portal:home")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Up/down per component for anyone; the full report (names, latencies, errors) for provider staff or tokens.

    Always JSON, and 503 whenever the database or Redis is down, however the checks fail.
    """
    try:
        checks = check_all()
    except Exception as exc:  # a health report must describe its own failure, never answer 500
        logger.exception("health checks failed")
        checks = down_view(f"the health checks could not run: {type(exc).__name__}")
    # Who is asking is read from the database: while it is down the caller gets the public report, and a
    # database that hangs cannot hold this answer past the checks' own deadline.
    body = checks if checks["database"]["ok"] and caller_is_provider(request) else public_view(checks)
    return JsonResponse(body, status=503 if checks["status"] == "down" else 200)


@never_cache
@provider_required
def health_badge(request: HttpRequest) -> HttpResponse:
    return render(request, "_health_badge.html", {"health": check_all()})
