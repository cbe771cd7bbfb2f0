"""Rate limits on expensive work, shared by every part of the site (pages, partials, the API, later the gateway).

A limit is a named rate from ``settings.RATE_LIMITS`` ("20/minute", in the ``limits`` package's notation) counted
per key (a user, a client, an address) in Redis, so every web process and machine counts together. Code that
starts expensive work calls ``enforce``; when a window is full it raises ``RateLimited``, which
``RateLimitMiddleware`` (pages and htmx partials) and the API's exception handler turn into HTTP 429 with
``Retry-After`` and a message that says when to try again. Nothing is queued past a limit.

    enforce(Limit("ask-user", user.pk, "Your questions"), Limit("ask-client", client.pk, "Your team's questions"))
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """One window to count in: the rate's name in ``settings.RATE_LIMITS``, whose window it is, and what it counts
    in words for the message ("Your questions")."""

    name: str
    key: object
    what: str = "Requests"

    @property
    def item(self) -> RateLimitItem:
        return parse(settings.RATE_LIMITS[self.name])


class RateLimited(Exception):
    """A limit is reached; ``retry_after`` is whole seconds until the window has room again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@cache
def limiter() -> MovingWindowRateLimiter:
    storage = RedisStorage(
        settings.REDIS_URL,
        key_prefix=f"{settings.REDIS_KEY_PREFIX}:limits",
        wrap_exceptions=True,
        socket_timeout=1,
        socket_connect_timeout=1,
    )
    return MovingWindowRateLimiter(storage)


def _retry_after(limit: Limit) -> int:
    reset = limiter().get_window_stats(limit.item, limit.name, str(limit.key)).reset_time
    return max(1, math.ceil(reset - time.time()))


def _wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def refusal(limit: Limit) -> RateLimited | None:
    """The ``RateLimited`` to raise if ``limit``'s window is full now, without counting a hit; None otherwise."""
    try:
        if limiter().test(limit.item, limit.name, str(limit.key)):
            return None
        retry_after = _retry_after(limit)
    except StorageError:
        logger.warning("rate limit %s not checked: Redis did not answer", limit.name)
        return None
    return RateLimited(f"Try again in {_wait_words(retry_after)}.", retry_after=retry_after)


def hit(*limits: Limit) -> None:
    """Count one event in each window (for limits on failures, counted after the fact)."""
    for limit in limits:
        try:
            limiter().hit(limit.item, limit.name, str(limit.key))
        except StorageError:
            logger.warning("rate limit %s not counted: Redis did not answer", limit.name)


def enforce(*limits: Limit) -> None:
    """Count one use in every window, or raise ``RateLimited`` (counting nothing) when any of them is full."""
    for limit in limits:
        refused = refusal(limit)
        if refused is not None:
            rate = limit.item
            per = f"{rate.multiples} {rate.GRANULARITY.name}s" if rate.multiples > 1 else rate.GRANULARITY.name
            raise RateLimited(
                f"{limit.what} are limited to {rate.amount} per {per}. {refused.message}",
                retry_after=refused.retry_after,
            )
    hit(*limits)


def reset(limit: Limit) -> None:
    limiter().clear(limit.item, limit.name, str(limit.key))


def client_address(request: HttpRequest) -> str:
    """The caller's address: the socket's, or the one the trusted proxies in front of the site saw."""
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if count and len(forwarded) >= count:
        # Each trusted proxy appends the address it saw; anything further left was written by the caller.
        return forwarded[-count]
    return str(request.META.get("REMOTE_ADDR", ""))


def too_many_requests(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    """The 429 for a page, an htmx partial (plain text that the page shows in its alert) or a JSON caller."""
    response: HttpResponse
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": exc.message}, status=429)
    elif request.headers.get("HX-Request"):
        response = HttpResponse(exc.message, status=429, content_type="text/plain; charset=utf-8")
    else:
        response = render(request, "429.html", {"message": exc.message}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


class RateLimitMiddleware:
    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RateLimited):
            return too_many_requests(request, exception)
        return None
