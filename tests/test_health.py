from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import api_token_create
from deployments.services import deployment_check_health, deployment_save


@pytest.fixture
def fde_token(fde):
    return api_token_create(user=fde, name="monitoring")[1]


@pytest.mark.django_db
def test_healthz_reports_database_with_pgvector_and_redis_to_provider_staff(fde_http):
    body = fde_http.get("/healthz").json()
    assert body["database"]["ok"] is True
    assert body["database"]["pgvector"].startswith("0.")
    assert body["redis"]["ok"] is True
    assert body["database"]["latency_ms"] >= 0


@pytest.mark.django_db
def test_anonymous_healthz_says_only_up_or_down_per_component(client):
    deployment_save(name="Secret GPU box", base_url="http://10.1.2.3:9/v1", served_model_name="llama-internal")
    response = client.get("/healthz")
    assert response.json() == {
        "status": "degraded",
        "components": {"database": "up", "redis": "up", "worker": "down", "models": "down"},
    }
    text = response.content.decode()
    for leak in ("Secret GPU box", "10.1.2.3", "llama-internal", "uuid", "error", "pgvector"):
        assert leak not in text


@pytest.mark.django_db
def test_a_client_users_session_gets_the_anonymous_healthz(member_http):
    assert set(member_http.get("/healthz").json()) == {"status", "components"}


@pytest.mark.django_db
def test_a_provider_token_reads_the_detailed_healthz(client, fde_token):
    body = client.get("/healthz", headers={"Authorization": f"Bearer {fde_token}"}).json()
    assert body["database"]["ok"] is True


@pytest.mark.django_db
def test_a_client_users_token_does_not_read_the_detailed_healthz(client, client_member):
    _, raw = api_token_create(user=client_member, name="theirs")
    body = client.get("/healthz", headers={"Authorization": f"Bearer {raw}"}).json()
    assert "database" not in body


@pytest.mark.django_db
def test_healthz_without_a_worker_is_degraded_not_down(fde_http):
    body = fde_http.get("/healthz").json()
    assert body["worker"]["ok"] is False
    assert "heartbeat" in body["worker"]["error"]
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_healthz_reports_an_unreachable_model_endpoint_quickly(fde_http):
    deployment_check_health(
        deployment=deployment_save(name="Nowhere", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    )
    body = fde_http.get("/healthz").json()
    [model] = body["models"]
    assert model["name"] == "Nowhere"
    assert model["ok"] is False
    assert model["latency_ms"] < 5000


def test_healthz_sees_a_real_worker_heartbeat(celery_worker, fde_http):
    body = fde_http.get("/healthz").json()
    assert body["worker"]["ok"] is True
    assert body["worker"]["workers"] == 1


def test_healthz_sees_the_local_vllm(vllm_server, fde_http, transactional_db):
    local = deployment_save(name="Local", base_url=vllm_server["base_url"], served_model_name=vllm_server["model"])
    deployment_check_health(deployment=local)
    body = fde_http.get("/healthz").json()
    assert [m["ok"] for m in body["models"]] == [True]


def test_health_badge_needs_login(client, db):
    response = client.get("/health/badge/")
    assert response.status_code == 302


@pytest.mark.django_db
def test_client_users_never_get_the_health_badge(member_http):
    assert member_http.get("/health/badge/").status_code == 404
    page = member_http.get("/portal/").content.decode()
    assert "health-badge" not in page


@pytest.mark.django_db
def test_metrics_refuse_anonymous_and_client_callers(client, member_http, client_member):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert member_http.get("/metrics").status_code == 401
    _, raw = api_token_create(user=client_member, name="theirs")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


@pytest.mark.django_db
def test_metrics_expose_component_health_to_a_provider_token_as_prometheus_reads_it(client, fde_token):
    deployment_save(name="Nowhere", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {fde_token}"})
    assert response["Content-Type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }
    assert samples[("fde_component_up", (("component", "database"),))] == 1.0
    assert samples[("fde_model_endpoint_up", (("deployment", "Nowhere"), ("model", "x")))] == 0.0


@pytest.mark.django_db
def test_healthz_answers_503_json_when_redis_is_down(client, fde_http, settings):
    from config import health

    health.redis_client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["components"]["redis"] == "down"
        detailed = fde_http.get("/healthz")
        assert detailed.status_code == 503
        assert detailed.json()["redis"]["ok"] is False
    finally:
        health.redis_client.cache_clear()


def test_healthz_answers_503_json_while_the_database_is_stopped(live_server, transactional_db, fde):
    """A real stop of the session's PostgreSQL: /healthz must say "down" in JSON, quickly, and recover after."""
    import time

    import httpx
    from django.db import connection

    from config import embedded_db

    pgdata = _pgdata(connection)
    _, raw = api_token_create(user=fde, name="monitor")
    url = f"{live_server.url}/healthz"
    assert httpx.get(url, timeout=10).status_code == 200
    embedded_db.stop(pgdata)
    try:
        for headers in ({}, {"Authorization": f"Bearer {raw}"}):
            started = time.monotonic()
            response = httpx.get(url, headers=headers, timeout=30)
            assert time.monotonic() - started < 10
            assert response.status_code == 503
            assert response.headers["Content-Type"] == "application/json"
            body = json.loads(response.content)
            assert body["status"] == "down"
            assert body.get("components", {}).get("database", "down") == "down"
    finally:
        embedded_db.start(pgdata)
    connection.close()
    deadline = time.monotonic() + 30
    while httpx.get(url, timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the site did not recover after the database came back"
        time.sleep(0.5)


def test_healthz_answers_in_time_while_the_database_hangs(live_server, transactional_db, fde):
    """Every PostgreSQL process frozen (SIGSTOP): no packet comes back and no server-side timeout fires.

    /healthz must still answer 503 JSON within its deadline, to a provider's token too (whose check needs the
    database), and be healthy again once the database wakes.
    """
    import os
    import signal
    import time

    import httpx
    from django.db import connection

    _, raw = api_token_create(user=fde, name="monitor")
    url = f"{live_server.url}/healthz"
    assert httpx.get(url, headers={"Authorization": f"Bearer {raw}"}, timeout=10).status_code == 200
    frozen = _postgres_processes(_pgdata(connection))
    assert frozen, "found no PostgreSQL process to freeze"
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        for headers in ({}, {"Authorization": f"Bearer {raw}"}):
            started = time.monotonic()
            response = httpx.get(url, headers=headers, timeout=30)
            assert time.monotonic() - started < 8
            assert response.status_code == 503
            assert response.headers["Content-Type"] == "application/json"
            assert json.loads(response.content)["components"]["database"] == "down"
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 30
    while httpx.get(url, timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "/healthz did not recover after the database woke"
        time.sleep(0.5)


def _postgres_processes(pgdata):
    """The postmaster of ``pgdata`` and every process it started."""
    from pathlib import Path

    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            children.append(int(stat.parent.name))
    return [postmaster, *children]


def _pgdata(connection):
    from pathlib import Path

    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        return Path(cursor.fetchone()[0])
