"""The portfolio: every engagement as a card in its phase column, and the same engagements as a sortable table."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import provider_required
from accounts.models import User
from accounts.selectors import client_list_for_user
from engagements.models import Engagement
from engagements.selectors import engagement_board_columns, engagement_portfolio_for_user

TABLE_COLUMNS = [
    ("name", "Engagement"),
    ("client", "Client"),
    ("phase", "Phase"),
    ("health", "Health"),
    ("target", "Target date"),
    ("days", "Days in phase"),
    ("gate", "Gate"),
]


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {
        "client": request.GET.get("client", ""),
        "fde": request.GET.get("fde", ""),
        "health": request.GET.get("health", ""),
        "archived": request.GET.get("archived") == "1",
    }


def _context(request: HttpRequest, view: str) -> dict[str, Any]:
    filters = _filters(request)
    query = request.GET.copy()
    query.pop("sort", None)
    return {
        "view": view,
        "filters": filters,
        "query": query.urlencode(),
        "clients": client_list_for_user(user=request.user),  # type: ignore[arg-type]
        "fdes": User.objects.filter(is_provider=True, is_active=True, assignments__isnull=False).distinct(),
        "healths": Engagement.Health.choices,
    }


@provider_required
def board(request: HttpRequest) -> HttpResponse:
    context = _context(request, "board")
    engagements = engagement_portfolio_for_user(user=request.user, **context["filters"])
    context["columns"] = engagement_board_columns(engagements=engagements)
    return render(request, "engagements/board.html", context)


@provider_required
def table(request: HttpRequest) -> HttpResponse:
    context = _context(request, "list")
    sort = request.GET.get("sort", "name")
    context["sort"] = sort
    context["columns"] = TABLE_COLUMNS
    context["engagements"] = engagement_portfolio_for_user(user=request.user, sort=sort, **context["filters"])
    return render(request, "engagements/table.html", context)
