"""What stands around each upstream call, with its state in Redis so every gateway process shares it.

- a rate limit per key: the ``limits`` package's moving window on its async Redis storage, and the same per
  address for calls with keys that are not valid (guessing);
- a circuit breaker per deployment: ``purgatory``'s async breaker on its Redis unit of work (open after
  ``GATEWAY_BREAKER_FAILURES`` failures in a row, half-open after ``GATEWAY_BREAKER_RESET_SECONDS``), with one probe
  at a time while half-open, claimed with a Redis ``SET NX``, so a recovering server gets one call, not a stampede;
- a concurrency cap per deployment with two priorities: a Redis sorted set of leases and a waiting line ordered by
  priority, then arrival, moved in one Lua script so admission is atomic across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from purgatory import AsyncCircuitBreakerFactory, AsyncRedisUnitOfWork
from purgatory.domain.model import OpenedState

from deployments.models import Priority
from deployments.proxy.errors import GatewayError


def _key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, "gw", *map(str, parts)])


HEALTHY_FOR = 1.0


class RateLimiter:
    """Moving windows in Redis: calls per key, and calls with keys that are not valid per address (guessing)."""

    def __init__(self) -> None:
        storage = RedisStorage("async+" + settings.REDIS_URL, key_prefix=_key("ratelimit"), implementation="redispy")
        self.limiter = MovingWindowRateLimiter(storage)
        self.bad_keys = RateLimitItemPerMinute(settings.GATEWAY_BAD_KEYS_PER_MINUTE)

    async def check(self, *, key_id: int, per_minute: int) -> None:
        item = RateLimitItemPerMinute(per_minute)
        if not await self.limiter.hit(item, str(key_id)):
            raise await self._refusal(
                item,
                str(key_id),
                code="rate_limit_exceeded",
                message=f"This key may make {per_minute} calls per minute and has used them all. Retry after the "
                "number of seconds in the Retry-After header, or ask your FDE for a higher limit.",
            )

    async def refuse_if_guessing(self, address: str) -> None:
        if not await self.limiter.test(self.bad_keys, "badkeys", address):
            raise await self._guessing(address)

    async def key_not_valid(self, address: str) -> None:
        """Count one call with a key that is not valid; refuses the caller when that was one too many."""
        if not await self.limiter.hit(self.bad_keys, "badkeys", address):
            raise await self._guessing(address)

    async def _guessing(self, address: str) -> GatewayError:
        return await self._refusal(
            self.bad_keys,
            "badkeys",
            address,
            code="too_many_invalid_keys",
            message=f"More than {self.bad_keys.amount} calls with keys that are not valid came from this address in "
            "a minute, so it is refused until the number of seconds in the Retry-After header has passed. Check "
            "that your program sends the whole key your FDE gave you.",
        )

    async def _refusal(self, item: RateLimitItemPerMinute, *ids: str, code: str, message: str) -> GatewayError:
        stats = await self.limiter.get_window_stats(item, *ids)
        return GatewayError(
            429,
            code,
            message,
            kind="rate_limit_error",
            retry_after=max(1.0, stats.reset_time - time.time()),
            log_status="",  # not a model call: nothing was sent
        )


class Breakers:
    """One purgatory breaker per deployment, named by its id."""

    def __init__(self, redis: aioredis.Redis) -> None:
        uow = AsyncRedisUnitOfWork(settings.REDIS_URL)
        # purgatory's keys would otherwise sit outside our prefix
        uow.contexts.prefix = _key("breaker") + ":"  # type: ignore[attr-defined]
        self.factory = AsyncCircuitBreakerFactory(
            default_threshold=settings.GATEWAY_BREAKER_FAILURES, default_ttl=settings.GATEWAY_BREAKER_RESET_SECONDS
        )
        self.factory.uow = uow
        self.redis = redis
        # Deployments whose breaker was closed without failures at the last read, until when to trust that read.
        # A healthy call changes nothing in a closed breaker, so the common case needs no Redis round trip; a
        # breaker another process opens is seen here within HEALTHY_FOR seconds.
        self.healthy_until: dict[int, float] = {}

    async def enter(self, deployment_id: int) -> Entered:
        """The entered breaker for a call to the deployment; raises ``BreakerOpen`` while it may not be called."""
        if self.healthy_until.get(deployment_id, 0.0) > time.monotonic():
            return Entered(None, deployment_id, probing=False)
        breaker = await self.factory.get_breaker(str(deployment_id))
        probing = False
        context = breaker.context
        if context.state == "opened":
            remaining = (context.opened_at or 0) + context.ttl - time.time()
            if remaining > 0:
                raise BreakerOpen(remaining)
            # Half-open: only the caller that claims the probe goes through; the others wait for its verdict.
            probe_ttl = max(1, int(settings.MODEL_CONNECT_TIMEOUT + settings.MODEL_READ_TIMEOUT))
            if not await self.redis.set(_key("probe", deployment_id), "1", nx=True, ex=probe_ttl):
                raise BreakerOpen(1.0)
            probing = True
        try:
            await breaker.__aenter__()
        except OpenedState as exc:  # another process reopened it between our read and now
            if probing:
                await self.redis.delete(_key("probe", deployment_id))
            raise BreakerOpen(float(settings.GATEWAY_BREAKER_RESET_SECONDS)) from exc
        if context.state == "closed" and not context.failure_count:
            self.healthy_until[deployment_id] = time.monotonic() + HEALTHY_FOR
        return Entered(breaker, deployment_id, probing)

    async def leave(self, entered: Entered, failure: BaseException | None) -> None:
        if failure is not None:
            self.healthy_until.pop(entered.deployment_id, None)
        if entered.breaker is None:  # entered on the cached healthy read
            if failure is None:
                return
            entered = Entered(await self.factory.get_breaker(str(entered.deployment_id)), entered.deployment_id, False)
            try:
                await entered.breaker.__aenter__()
            except OpenedState:
                return  # already open: this failure adds nothing
        try:
            await entered.breaker.__aexit__(type(failure) if failure else None, failure, None)
        finally:
            if entered.probing:
                await self.redis.delete(_key("probe", entered.deployment_id))

    async def state(self, deployment_id: int) -> str:
        breaker = await self.factory.get_breaker(str(deployment_id))
        return str(breaker.context.state)


@dataclass
class Entered:
    breaker: Any
    deployment_id: int
    probing: bool


class BreakerOpen(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("circuit breaker open")
        self.retry_after = retry_after


# KEYS: leases, waiting line, waiters' last poll. ARGV: now ms, holder, lease ms, cap, score, stale ms.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1] - ARGV[6])
for _, w in ipairs(stale) do redis.call('ZREM', KEYS[2], w); redis.call('ZREM', KEYS[3], w) end
local free = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[1])
if free > 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('ZADD', KEYS[1], ARGV[1] + ARGV[3], ARGV[2])
  return 1
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2])
local rank = redis.call('ZRANK', KEYS[2], ARGV[2])
if free > 0 and rank < free then
  redis.call('ZREM', KEYS[2], ARGV[2]); redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('ZADD', KEYS[1], ARGV[1] + ARGV[3], ARGV[2])
  return 1
end
return 0
"""
_PRIORITY_RANK: dict[str, int] = {Priority.INTERACTIVE: 0, Priority.BATCH: 1}
_STALE_WAITER_MS = 3000


class Slots:
    """The per-deployment concurrency cap; a lease outlives the longest call so a crashed process frees its slots."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.acquire_script = redis.register_script(_ACQUIRE)
        self.released: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self.counter = itertools.count()
        self.process = f"{os.getpid()}-{time.time_ns()}"

    async def acquire(self, *, deployment_id: int, cap: int, priority: str) -> str | None:
        if cap <= 0:
            return None
        holder = f"{self.process}-{next(self.counter)}"
        now = int(time.time() * 1000)
        score = _PRIORITY_RANK.get(priority, 0) * 10**13 + now
        lease = int((settings.GATEWAY_CALL_DEADLINE + 30) * 1000)
        keys = [_key("slots", deployment_id), _key("waiting", deployment_id), _key("waiting-seen", deployment_id)]
        deadline = time.monotonic() + settings.GATEWAY_QUEUE_TIMEOUT
        pause = 0.005
        try:
            while True:
                now = int(time.time() * 1000)
                if await self.acquire_script(keys=keys, args=[now, holder, lease, cap, score, _STALE_WAITER_MS]):
                    return holder
                if time.monotonic() >= deadline:
                    raise GatewayError(
                        503,
                        "deployment_busy",
                        f"The model is at its limit of {cap} calls at once and this call waited "
                        f"{settings.GATEWAY_QUEUE_TIMEOUT:.0f} s for a turn. Retry shortly, or send background work "
                        "with X-Priority: batch so interactive calls go first.",
                        kind="server_error",
                        retry_after=5,
                        log_status="rejected",
                    )
                # Woken at once by a release in this process; a release in another process is seen on the next poll.
                event = self.released[deployment_id]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), pause)
                pause = min(pause * 2, 0.05)
        except BaseException:
            await self.redis.zrem(keys[1], holder)
            raise

    async def release(self, *, deployment_id: int, holder: str | None) -> None:
        if holder is None:
            return
        await self.redis.zrem(_key("slots", deployment_id), holder)
        event = self.released.pop(deployment_id, None)
        if event is not None:
            event.set()
