"""The gateway's writes to the call log, batched off the request path.

A call is finished (or failed) before its row is written, so the log never adds to a caller's latency; rows are
written in batches by one background task, which keeps the database's share of a busy gateway small.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections, transaction
from django.utils import timezone

from deployments.callstats import CallStats
from deployments.models import GatewayKey, ModelCall, PromptPrefix
from deployments.prompt_shape import shape_of_request

logger = logging.getLogger("deployments.proxy")

BATCH = 500
GATHER_SECONDS = 0.25
LAST_USED_EVERY = 60.0


@dataclass
class CallRecord:
    deployment_id: int
    application_id: int
    engagement_id: int
    key_id: int
    caller: str
    created_at: datetime = field(default_factory=timezone.now)
    status: str = ModelCall.Status.OK
    error: str = ""
    stats: CallStats = field(default_factory=CallStats)
    fallback_from_id: int | None = None
    path: str = ""
    body: dict[str, Any] | None = None  # the request, for the prompt's shape (worked out off the event loop)


class CallLog:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[CallRecord] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.key_touched: dict[int, float] = {}

    def add(self, record: CallRecord) -> None:
        """Never blocks and never raises: safe from a cancelled request's cleanup."""
        self.queue.put_nowait(record)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self._flush()

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
            # Gather what arrives in the next moment into the same insert: one write per burst, not per call,
            # which keeps the database work (and its share of the interpreter) off the streams in flight.
            await asyncio.sleep(GATHER_SECONDS)
            await self._flush([first])

    async def _flush(self, batch: list[CallRecord] | None = None) -> None:
        batch = batch or []
        while len(batch) < BATCH and not self.queue.empty():
            batch.append(self.queue.get_nowait())
        if not batch:
            return
        now = time.monotonic()
        keys = {r.key_id for r in batch if now - self.key_touched.get(r.key_id, -LAST_USED_EVERY) >= LAST_USED_EVERY}
        for key_id in keys:
            self.key_touched[key_id] = now
        try:
            await sync_to_async(_write, thread_sensitive=False)(batch, keys)
        except Exception:  # the log must never take the gateway down; the rows are lost, the calls are not
            logger.exception("could not write %d gateway call rows", len(batch))


def _write(batch: list[CallRecord], touched_keys: set[int]) -> None:
    close_old_connections()
    rows = [
        ModelCall(
            created_at=r.created_at,
            deployment_id=r.deployment_id,
            engagement_id=r.engagement_id,
            application_id=r.application_id,
            fallback_from_id=r.fallback_from_id,
            caller=r.caller[:40],
            status=r.status,
            prompt_tokens=r.stats.prompt_tokens,
            completion_tokens=r.stats.completion_tokens,
            ttft_ms=r.stats.ttft_ms,
            total_ms=r.stats.total_ms,
            error=r.error[:500],
            **r.stats.gap_summary(),
        )
        for r in batch
    ]
    shapes = [shape_of_request(r.path, r.body) if r.body is not None else None for r in batch]
    with transaction.atomic():
        ModelCall.objects.bulk_create(rows)
        PromptPrefix.objects.bulk_create(
            [
                PromptPrefix(call=row, deployment_id=r.deployment_id, created_at=r.created_at, **shape.as_fields())
                for row, r, shape in zip(rows, batch, shapes, strict=True)
                if shape is not None
            ]
        )
        if touched_keys:
            GatewayKey.objects.filter(pk__in=touched_keys).update(last_used_at=timezone.now())
