from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from accounts.selectors import user_is_provider
from config.health import check_all


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("engagements:list" if user_is_provider(request.user) else "portal:home")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = check_all()
    return JsonResponse(checks, status=503 if checks["status"] == "down" else 200)


@never_cache
@login_required
def health_badge(request: HttpRequest) -> HttpResponse:
    return render(request, "_health_badge.html", {"health": check_all()})
