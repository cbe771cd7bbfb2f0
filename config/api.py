"""The REST API (django-ninja), with its OpenAPI schema at /api/openapi.json and docs at /api/docs.

Callers authenticate with their browser session or a personal API token (``Authorization: Bearer fde_...``,
created with ``manage.py create_api_token``). Every endpoint scopes what it returns through the app's selectors,
which take the user. Apps add their routers below.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import HttpBearer, django_auth

from accounts.services import api_token_authenticate_from
from config.ratelimit import RateLimited, client_address, too_many_requests


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate_from(raw=token, address=client_address(request))
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="FDE Toolkit API",
    version="1",
    description="Engagements, knowledge bases, prototypes and deployments, scoped to the caller.",
    auth=[TokenAuth(), django_auth],
    urls_namespace="api",
)
api.add_router("/rag/", "rag.api.router")
api.add_router("/engagements/", "engagements.api.router")
api.add_router("/prototypes/", "rag.prototypes.api.router")
api.add_router("/deployments/", "deployments.api.router")
api.add_router("/load-tests/", "deployments.loadtest.api.router")


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    return too_many_requests(request, exc)
