from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from accounts.models import Client
from accounts.services import api_token_create
from deployments.models import Deployment, LoadTest
from deployments.services import deployment_save
from engagements.models import Engagement, ReviewPack
from engagements.review.services import review_pack_request
from engagements.services import engagement_create
from jobs import registry, services
from jobs.models import JobStatus
from rag.models import IngestionBatch, KnowledgeBase
from rag.services import ingest
from rag.services.knowledge_base import knowledge_base_create


@pytest.fixture
def kb(engagement: Engagement, fde: Any) -> KnowledgeBase:
    return knowledge_base_create(engagement=engagement, name="Jobs page", actor=fde)


@pytest.fixture
def batch(kb: KnowledgeBase, fde: Any, django_capture_on_commit_callbacks: Any) -> IngestionBatch:
    with django_capture_on_commit_callbacks(execute=False):
        batch = ingest.documents_add_files(knowledge_base=kb, files=[("a.txt", b"alpha")], actor=fde)
    job = services.claim(IngestionBatch, batch.pk)
    assert job is not None
    services.heartbeat(job, step="Reading a.txt")
    return job


@pytest.fixture
def other_fde_http(other_fde: Any) -> HttpClient:
    http = HttpClient()
    http.force_login(other_fde)
    return http


def _url(batch: IngestionBatch, action: str = "") -> str:
    return f"/jobs/ingestion/{batch.uuid}/" + (f"{action}/" if action else "")


def test_the_progress_partial_polls_while_running_and_carries_the_state(
    fde_http: HttpClient, batch: IngestionBatch
) -> None:
    html = fde_http.get(_url(batch), headers={"HX-Request": "true"}).content.decode()

    assert 'data-job-status="running"' in html and 'hx-trigger="every 1s"' in html
    assert "Reading a.txt" in html and "0 / 1 documents" in html and "Cancel" in html


def test_a_finished_job_stops_the_polling_and_tells_the_page(fde_http: HttpClient, batch: IngestionBatch) -> None:
    services.finish(batch)

    response = fde_http.get(_url(batch), headers={"HX-Request": "true"})

    assert response.status_code == 286 and 'data-job-status="succeeded"' in response.content.decode()
    assert "documents-changed" in response["HX-Trigger"] and "hx-trigger" not in response.content.decode()


def test_the_team_cancels_and_retries_from_the_partial(
    fde_http: HttpClient, batch: IngestionBatch, django_capture_on_commit_callbacks: Any
) -> None:
    html = fde_http.post(_url(batch, "cancel"), headers={"HX-Request": "true"}).content.decode()
    assert "stopping after this step" in html
    services.finish(batch)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        html = fde_http.post(_url(batch, "retry"), headers={"HX-Request": "true"}).content.decode()

    batch.refresh_from_db()
    assert batch.status == JobStatus.QUEUED and 'data-job-status="queued"' in html and len(callbacks) == 1


def test_without_htmx_an_action_goes_back_to_the_page_it_came_from(fde_http: HttpClient, batch: IngestionBatch) -> None:
    response = fde_http.post(_url(batch, "cancel"), {"next": "/jobs/?status=running"})
    assert response.status_code == 302 and response["Location"] == "/jobs/?status=running"
    response = fde_http.post(_url(batch, "retry"), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == f"/rag/kb/{batch.knowledge_base.uuid}/"


def test_staff_off_the_team_see_a_job_but_cannot_change_it(other_fde_http: HttpClient, batch: IngestionBatch) -> None:
    html = other_fde_http.get(_url(batch)).content.decode()
    assert 'data-job-status="running"' in html and "job-cancel" not in html
    assert other_fde_http.post(_url(batch, "cancel")).status_code == 403
    batch.refresh_from_db()
    assert not batch.cancel_requested


def test_client_users_and_outsiders_get_404_everywhere(
    member_http: HttpClient, outsider_http: HttpClient, batch: IngestionBatch
) -> None:
    for http in (member_http, outsider_http):
        assert http.get("/jobs/").status_code == 404
        assert http.get(_url(batch)).status_code == 404
        assert http.post(_url(batch, "cancel")).status_code == 404
        assert http.post(_url(batch, "retry")).status_code == 404
    assert member_http.get(f"/jobs/nonsense/{batch.uuid}/").status_code == 404


def test_the_jobs_page_lists_every_kind_with_filters_and_the_queue(
    fde_http: HttpClient, batch: IngestionBatch, kb: KnowledgeBase, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        other = ingest.documents_add_files(knowledge_base=kb, files=[("b.txt", b"beta")])
    services.fail(batch, "The disk is full: free space, then retry.")

    html = fde_http.get("/jobs/").content.decode()
    assert str(batch.uuid) in html and str(other.uuid) in html
    assert "The disk is full" in html and 'id="jobs-workers"' in html and 'id="jobs-queue-depth"' in html
    failed = fde_http.get("/jobs/?status=failed&kind=ingestion").content.decode()
    assert str(batch.uuid) in failed and str(other.uuid) not in failed
    assert str(batch.uuid) not in fde_http.get("/jobs/?kind=eval-run").content.decode()


def _batch(engagement: Engagement, fde: Any, name: str, *, queued_ago: timedelta = timedelta(0)) -> IngestionBatch:
    kb = knowledge_base_create(engagement=engagement, name=name, actor=fde)
    batch = ingest.documents_add_files(knowledge_base=kb, files=[(f"{name}.txt", b"text")], actor=fde)
    IngestionBatch.objects.filter(pk=batch.pk).update(queued_at=timezone.now() - queued_ago)
    return batch


def test_the_engagement_filter_shows_only_that_engagements_jobs(
    fde_http: HttpClient, fde: Any, engagement: Engagement, client_org: Client, django_capture_on_commit_callbacks: Any
) -> None:
    other_engagement = engagement_create(client=client_org, name="Invoice reader", problem_statement="Read.", lead=fde)
    with django_capture_on_commit_callbacks(execute=False):
        ours, theirs = _batch(engagement, fde, "ours"), _batch(other_engagement, fde, "theirs")

    html = fde_http.get(f"/jobs/?engagement={engagement.uuid}").content.decode()

    assert str(ours.uuid) in html and str(theirs.uuid) not in html
    both = fde_http.get("/jobs/").content.decode()
    assert str(ours.uuid) in both and str(theirs.uuid) in both


def test_the_age_filter_shows_recent_work_or_work_older_than_the_choice(
    fde_http: HttpClient, fde: Any, engagement: Engagement, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        fresh = _batch(engagement, fde, "fresh", queued_ago=timedelta(minutes=5))
        stuck = _batch(engagement, fde, "stuck", queued_ago=timedelta(hours=3))
        ancient = _batch(engagement, fde, "ancient", queued_ago=timedelta(days=3))

    jobs = {"fresh": fresh, "stuck": stuck, "ancient": ancient}

    def shown(query: str) -> set[str]:
        html = fde_http.get(f"/jobs/?{query}").content.decode()
        return {name for name, job in jobs.items() if str(job.uuid) in html}

    assert shown("age=hour") == {"fresh"}
    assert shown("age=day") == {"fresh", "stuck"}
    assert shown("age=older-hour") == {"stuck", "ancient"}
    assert shown("age=older-day") == {"ancient"}
    assert shown("age=older-hour&status=queued") == {"stuck", "ancient"}  # queued over an hour: nobody picked it up
    assert shown("age=older-hour&status=running") == set()
    assert 'value="older-hour"' in fde_http.get("/jobs/").content.decode()


@pytest.fixture
def every_kind(engagement: Engagement, fde: Any, batch: IngestionBatch) -> dict[str, Any]:
    """A job of each kind, the load test and the review pack queued, for the Jobs page and /metrics."""
    deployment = deployment_save(
        name="Jobs page server", base_url="http://127.0.0.1:9/v1", served_model_name="m",
        engine=Deployment.Engine.OPENAI_COMPATIBLE, engagement=engagement,
    )  # fmt: skip
    load_test = LoadTest.objects.create(
        deployment=deployment, engagement=engagement, name="Jobs page load test", levels=[1.0], max_requests=1, total=1
    )
    pack = review_pack_request(engagement=engagement, actor=fde)  # queued; its task is sent only on commit
    return {"ingestion": batch, "load-test": load_test, "review-pack": pack}


def test_every_kind_of_job_is_registered_and_on_the_jobs_page(fde_http: HttpClient, every_kind: dict[str, Any]) -> None:
    assert set(registry.kinds()) == {"ingestion", "eval-run", "load-test", "review-pack"}
    assert registry.get("load-test") is LoadTest and registry.get("review-pack") is ReviewPack
    html = fde_http.get("/jobs/").content.decode()
    for kind, job in every_kind.items():
        assert f'data-job-kind="{kind}"' in html and str(job.uuid) in html
        assert f'value="{kind}"' in html  # the kind filter offers it
        filtered = fde_http.get(f"/jobs/?kind={kind}").content.decode()
        assert str(job.uuid) in filtered
        assert all(str(other.uuid) not in filtered for other in every_kind.values() if other is not job)


def test_the_jobs_page_keeps_a_flat_query_count(
    fde_http: HttpClient, kb: KnowledgeBase, django_capture_on_commit_callbacks: Any
) -> None:
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert fde_http.get("/jobs/").status_code == 200
        return len(queries)

    with django_capture_on_commit_callbacks(execute=False):
        ingest.documents_add_files(knowledge_base=kb, files=[("a.txt", b"a")])
    few = count()
    with django_capture_on_commit_callbacks(execute=False):
        for n in range(6):
            ingest.documents_add_files(knowledge_base=kb, files=[(f"{n}.txt", str(n).encode())])
    assert count() <= few + 2


def test_metrics_export_jobs_by_kind_and_status(fde: Any, every_kind: dict[str, Any]) -> None:
    _, raw = api_token_create(user=fde, name="prometheus")
    body = HttpClient().get("/metrics", headers={"Authorization": f"Bearer {raw}"}).content.decode()
    assert 'fde_jobs{kind="ingestion",status="running"} 1.0' in body
    assert 'fde_jobs{kind="eval-run",status="queued"} 0.0' in body
    assert 'fde_jobs{kind="load-test",status="queued"} 1.0' in body
    assert 'fde_jobs{kind="review-pack",status="queued"} 1.0' in body
    assert 'fde_jobs_stale{kind="ingestion"} 0.0' in body and 'fde_jobs_stale{kind="review-pack"} 0.0' in body
