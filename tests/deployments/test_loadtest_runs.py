from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from deployments.loadtest.selectors import best_under_sla, level_stats
from deployments.loadtest.services import loadtest_execute, loadtest_start
from deployments.models import Deployment, LoadTest, LoadTestRequest
from deployments.services import deployment_save
from jobs import services as job_services
from jobs.models import JobStatus
from jobs.services import request_cancel
from tests.deployments.servers import PacedServer
from tests.fixtures_services import wait_for

SMALL = {"input_tokens": 8, "output_tokens": 8, "fixed_output": True}


@pytest.fixture(scope="module")
def paced() -> Iterator[PacedServer]:
    server = PacedServer(PACED_FIRST_TOKEN_S="0.05", PACED_GAP_S="0.01", PACED_TOKENS="8")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _runs_stay_in_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test carries out its run in its own process: a Celery worker left running by another test must not
    take the run's message first (the test's own claim would then lose, and its asserts read the worker's run)."""
    monkeypatch.setattr(job_services, "_send", lambda model, pk: True)


def _deployment(server: PacedServer, **fields: Any) -> Deployment:
    return deployment_save(
        name="Paced", base_url=server.base_url, served_model_name="paced", engine=Deployment.Engine.OPENAI_COMPATIBLE,
        **fields,
    )  # fmt: skip


def _start(deployment: Deployment, **fields: Any) -> LoadTest:
    return loadtest_start(deployment=deployment, actor=None, **(SMALL | fields))


def test_a_run_on_a_down_deployment_is_refused_with_the_health_checks_reason(closed_port_deployment: Any) -> None:
    with pytest.raises(ValidationError, match=r"did not answer its health check.*could not connect"):
        _start(closed_port_deployment, profile="concurrent", concurrency=2, max_requests=5)
    assert not LoadTest.objects.exists()


def test_a_fixed_concurrency_run_stores_every_request_and_its_figures(paced: PacedServer) -> None:
    deployment = _deployment(paced, sla_ttft_p95_ms=1000, sla_e2e_p95_ms=5000)
    run = _start(deployment, profile="concurrent", concurrency=4, max_requests=20)
    assert run.status == JobStatus.QUEUED and run.total == 1
    done = loadtest_execute(run_id=run.pk)
    assert done is not None
    assert done.status == JobStatus.SUCCEEDED, done.last_error
    assert run.sla == {"ttft_p95_ms": 1000.0, "e2e_p95_ms": 5000.0}
    assert LoadTestRequest.objects.filter(run=run, warmup=False).count() >= 20
    (stats,) = level_stats(run=run)
    assert stats.errors == 0 and stats.good == stats.requests
    assert stats.pct["ttft_p50"] is not None and 40 < stats.pct["ttft_p50"] < 1000
    assert stats.output_tokens == 8 * stats.requests
    assert stats.rps is not None and stats.goodput_rps == stats.rps
    assert best_under_sla([stats]) is stats


def test_an_sla_no_request_can_meet_gives_zero_goodput_and_breaches(paced: PacedServer) -> None:
    run = _start(_deployment(paced, sla_ttft_p95_ms=1), profile="synchronous", max_requests=3)
    loadtest_execute(run_id=run.pk)
    (stats,) = level_stats(run=run)
    assert stats.good == 0 and stats.goodput_rps == 0
    assert stats.breaches and "time to first token" in stats.breaches[0]
    assert best_under_sla([stats]) is None


def test_a_sweep_stops_when_the_sla_breaks() -> None:
    # 50 ms to the first token alone, 50 ms more for every other request in flight: 16 at once breach 400 ms.
    server = PacedServer(PACED_FIRST_TOKEN_S="0.05", PACED_GAP_S="0.005", PACED_QUEUE_S="0.05")
    try:
        run = _start(
            _deployment(server, sla_ttft_p95_ms=400), profile="sweep", sweep_levels=[1, 16, 32], max_requests=16
        )
        done = loadtest_execute(run_id=run.pk)
    finally:
        server.stop()
    assert done is not None and done.status == JobStatus.SUCCEEDED
    levels = level_stats(run=run)
    assert [s.level for s in levels] == [0, 1]
    assert "SLA broke at 16" in done.note


def test_a_server_that_dies_mid_run_fails_the_run_and_keeps_the_requests() -> None:
    server = PacedServer(PACED_FIRST_TOKEN_S="0.02", PACED_GAP_S="0.005", PACED_DIE_AFTER="8")
    try:
        run = _start(_deployment(server), profile="concurrent", concurrency=2, duration_s=120)
        done = loadtest_execute(run_id=run.pk)
    finally:
        server.stop()
    assert done is not None and done.status == JobStatus.FAILED
    assert "stopped answering" in done.last_error
    assert run.requests.filter(ok=True).count() >= 6
    assert run.requests.filter(ok=False).count() >= 10


@pytest.mark.django_db(transaction=True)
def test_a_stop_request_ends_the_run_and_keeps_what_was_measured(paced: PacedServer) -> None:
    run = _start(_deployment(paced), profile="concurrent", concurrency=2, duration_s=600)

    def work() -> None:
        try:
            loadtest_execute(run_id=run.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    wait_for(lambda: run.requests.count() >= 4, timeout=60, message="requests to be stored")
    request_cancel(run)
    worker.join(60)
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED and run.requests.count() >= 4


def test_a_queued_run_stopped_never_starts(paced: PacedServer) -> None:
    run = _start(_deployment(paced), profile="synchronous", max_requests=3)
    request_cancel(run)
    assert run.status == JobStatus.CANCELLED
    assert loadtest_execute(run_id=run.pk) is None
