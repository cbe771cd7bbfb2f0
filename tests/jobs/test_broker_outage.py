"""A broker that is down when work is queued: the request succeeds, the job waits, and the sweeper sends it later.

The broker here is a real ``redis-server`` this test starts and stops; the rest of the session keeps its own Redis.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from celery import current_app
from django.conf import settings
from django.urls import reverse

from jobs import services
from jobs.models import JobStatus
from rag.models import IngestionBatch, KnowledgeBase
from rag.services.knowledge_base import knowledge_base_create

# Real commits: the hand-over to the queue happens when the upload's transaction commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


class Broker:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise AssertionError("the test's redis-server did not start")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(10)

    def queued_messages(self) -> int:
        return int(redis.Redis.from_url(self.url).llen(settings.CELERY_TASK_DEFAULT_QUEUE))  # type: ignore[arg-type]


def _use_broker(url: str | None) -> None:
    current_app.conf.broker_url = url
    current_app.conf.broker_write_url = url


@pytest.fixture
def broker() -> Iterator[Broker]:
    original = current_app.conf.broker_url
    broker = Broker()
    broker.start()
    _use_broker(broker.url)
    yield broker
    _use_broker(original)
    if broker.proc is not None and broker.proc.poll() is None:
        broker.stop()


@pytest.fixture
def kb(engagement: Any, fde: Any) -> KnowledgeBase:
    return knowledge_base_create(engagement=engagement, name="Outage", actor=fde, chunk_size=300, chunk_overlap=0)


def test_an_upload_while_the_broker_is_down_is_kept_and_sent_when_it_is_back(
    broker: Broker, kb: KnowledgeBase, fde_http: Any
) -> None:
    broker.stop()
    started = time.monotonic()
    response = fde_http.post(
        reverse("rag:kb-upload", args=[kb.uuid]), {"documents": [_upload("notes.txt", b"The SLA is 48 hours.")]}
    )
    assert response.status_code == 200, response.content[:500]
    assert time.monotonic() - started < 10, "a down broker must not hold the request"
    assert "starts by itself when the queue is back" in response.content.decode()
    batch = IngestionBatch.objects.get(knowledge_base=kb)
    assert batch.status == JobStatus.QUEUED and batch.documents.count() == 1

    broker.start()
    sent = services.sweep(older_than=timedelta(0))
    assert batch.pk in sent["ingestion"]
    assert broker.queued_messages() == 1, "the sweeper hands the waiting job to the queue once it is back"


def _upload(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")
