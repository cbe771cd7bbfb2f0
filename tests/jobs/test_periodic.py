"""Periodic work on the Jobs page and in /metrics: every scheduled task's last run, recorded by Celery's signals."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import api_token_create
from jobs import periodic
from jobs.tasks import sweep


@pytest.fixture(autouse=True)
def _no_records() -> Any:
    keys = [periodic._KEY.format(name) for name in periodic.scheduled()]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def _row(html: str, task: str) -> str:
    start = html.index(f'data-task="{task}"')
    return html[start : html.index("</tr>", start)]


def test_every_scheduled_task_is_listed_and_a_run_is_recorded_by_the_task_signals(db: Any, fde_http: HttpClient):
    assert {"jobs.sweep", "deployments.scrape_all_metrics", "deployments.check_all_health"} <= set(periodic.scheduled())
    html = fde_http.get("/jobs/").content.decode()
    assert 'data-state="waiting"' in _row(html, "deployments.scrape_all_metrics")

    before = time.time()
    sweep.apply()  # the same signals fire as in a worker
    state = next(s for s in periodic.periodic_states() or [] if s.task == "jobs.sweep")
    assert state.started_at is not None and state.started_at >= before
    assert state.succeeded_at is not None and not state.failing and not state.late
    assert state.result  # the sweeper's summary of what it sent again

    row = _row(fde_http.get("/jobs/").content.decode(), "jobs.sweep")
    assert 'data-state="ok"' in row and "60 s" in row


def test_a_failing_run_shows_its_error_first_until_a_run_succeeds(
    db: Any, fde_http: HttpClient, monkeypatch: pytest.MonkeyPatch
):
    sweep.apply()
    monkeypatch.setattr("jobs.services.sweep", lambda: (_ for _ in ()).throw(RuntimeError("the broker said no")))
    sweep.apply()
    html = fde_http.get("/jobs/").content.decode()
    row = _row(html, "jobs.sweep")
    assert 'data-state="failing"' in row and "RuntimeError: the broker said no" in row
    assert html.index('data-task="jobs.sweep"') < html.index('data-task="deployments.scrape_all_metrics"')

    monkeypatch.undo()
    sweep.apply()
    assert 'data-state="ok"' in _row(fde_http.get("/jobs/").content.decode(), "jobs.sweep")


def test_a_task_that_stopped_running_is_late(db: Any, fde_http: HttpClient):
    an_hour_ago = time.time() - 3600
    cache.set(periodic._KEY.format("jobs.sweep"), {"started_at": an_hour_ago, "succeeded_at": an_hour_ago}, None)
    row = _row(fde_http.get("/jobs/").content.decode(), "jobs.sweep")
    assert 'data-state="late"' in row and "late" in row


def test_metrics_export_the_last_success_and_lateness(db: Any, fde: Any):
    sweep.apply()
    _, raw = api_token_create(user=fde, name="prometheus")
    body = HttpClient().get("/metrics", headers={"Authorization": f"Bearer {raw}"}).content.decode()
    samples = {(s.name, s.labels.get("task")): s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert samples[("fde_periodic_last_success_timestamp_seconds", "jobs.sweep")] == pytest.approx(time.time(), abs=60)
    assert samples[("fde_periodic_late", "jobs.sweep")] == 0
    assert samples[("fde_periodic_late", "deployments.scrape_all_metrics")] == 0  # never ran: not late, no success
    assert ("fde_periodic_last_success_timestamp_seconds", "deployments.scrape_all_metrics") not in samples


def test_the_jobs_page_still_answers_when_the_record_cannot_be_read(
    db: Any, fde_http: HttpClient, monkeypatch: pytest.MonkeyPatch
):
    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get_many", down)
    response = fde_http.get("/jobs/")
    assert response.status_code == 200
    assert "cannot be read" in response.content.decode()


def test_client_users_never_see_the_periodic_work(db: Any, member_http: HttpClient):
    sweep.apply()
    response = member_http.get("/jobs/")
    assert response.status_code in (403, 404)
    assert "jobs.sweep" not in response.content.decode()
