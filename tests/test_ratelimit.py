from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from accounts.services import user_create_client_member
from config import ratelimit
from deployments.services import deployment_save
from rag.models import Answer, KnowledgeBase, Prototype
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.services.knowledge_base import knowledge_base_create
from tests.conftest import PASSWORD
from tests.rag.prototype_builders import make_prototype
from tests.ratelimits import clear_limits

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_windows() -> Any:
    clear_limits()
    yield
    clear_limits()


@pytest.fixture
def kb(engagement: Any, fde: Any, settings: Any, tmp_path: Any) -> KnowledgeBase:
    settings.MEDIA_ROOT = tmp_path / "media"
    return knowledge_base_create(engagement=engagement, name="Policies", actor=fde)


@pytest.fixture
def prototype(kb: KnowledgeBase) -> Prototype:
    deployment = deployment_save(name="Unused", base_url="http://127.0.0.1:9/v1", served_model_name="x")
    return make_prototype(kb, deployment)


def _limit(settings: Any, **rates: str) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, **{k.replace("_", "-"): v for k, v in rates.items()}}


def test_asking_past_the_per_user_limit_gets_429_with_retry_after_in_every_form(
    settings: Any, member_http: HttpClient, prototype: Prototype
) -> None:
    _limit(settings, ask_user="2/minute")
    url = f"/portal/prototypes/{prototype.uuid}/ask/"
    for _ in range(2):
        assert member_http.post(url, {"question": "Claim deadline?"}, headers={"HX-Request": "true"}).status_code == 200
    partial = member_http.post(url, {"question": "Claim deadline?"}, headers={"HX-Request": "true"})
    assert partial.status_code == 429
    assert 0 < int(partial["Retry-After"]) <= 60
    assert partial["Content-Type"].startswith("text/plain")
    assert partial.content.decode().startswith("Your questions are limited to 2 per minute. Try again in")
    page = member_http.post(url, {"question": "Claim deadline?"})
    assert page.status_code == 429 and "Your questions are limited" in page.content.decode()
    api = member_http.post(
        f"/api/prototypes/{prototype.uuid}/answers", {"question": "Claim deadline?"}, content_type="application/json"
    )
    assert api.status_code == 429 and api["Retry-After"]
    assert api.json()["detail"].startswith("Your questions are limited")
    assert Answer.objects.count() == 2, "nothing past the limit is queued"


def test_a_clients_users_share_one_window(
    settings: Any, client_org: Any, member_http: HttpClient, prototype: Prototype
) -> None:
    _limit(settings, ask_user="10/minute", ask_client="3/minute")
    colleague = user_create_client_member(client=client_org, email="colleague@acme.test", password=PASSWORD)
    colleague_http = HttpClient()
    colleague_http.force_login(colleague)
    url = f"/portal/prototypes/{prototype.uuid}/ask/"
    for http in (member_http, member_http, colleague_http):
        assert http.post(url, {"question": "Claim deadline?"}).status_code == 200
    refused = colleague_http.post(url, {"question": "Claim deadline?"}, headers={"HX-Request": "true"})
    assert refused.status_code == 429
    assert "Questions to Acme Test's prototypes are limited to 3 per minute" in refused.content.decode()


def test_uploads_past_the_limit_get_429(settings: Any, fde_http: HttpClient, kb: KnowledgeBase) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    _limit(settings, upload_user="1/hour")
    url = f"/rag/kb/{kb.uuid}/upload/"
    hx = {"HX-Request": "true"}
    first = fde_http.post(url, {"documents": [SimpleUploadedFile("a.md", b"# A\n\nText.")]}, headers=hx)
    assert first.status_code == 200
    second = fde_http.post(url, {"documents": [SimpleUploadedFile("b.md", b"# B\n\nText.")]}, headers=hx)
    assert second.status_code == 429
    assert "Your uploads are limited to 1 per hour" in second.content.decode()
    assert 60 < int(second["Retry-After"]) <= 3600


def test_eval_runs_past_the_limit_get_429(
    settings: Any, fde_http: HttpClient, kb: KnowledgeBase, prototype: Prototype
) -> None:
    _limit(settings, eval_run_user="1/hour")
    dataset = eval_dataset_create(knowledge_base=kb, name="Set")
    eval_case_save(dataset=dataset, external_id="c1", question="Claim deadline?")
    url = f"/rag/eval/datasets/{dataset.uuid}/runs/"
    data = {"prototype": prototype.pk, "k": 5}
    assert fde_http.post(url, data).status_code == 302
    refused = fde_http.post(url, data)
    assert refused.status_code == 429
    assert "Your evaluation runs are limited to 1 per hour" in refused.content.decode()
    assert dataset.runs.count() == 1


def test_limits_let_work_through_when_redis_does_not_answer(settings: Any) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    ratelimit.limiter.cache_clear()
    try:
        for _ in range(5):
            ratelimit.enforce(ratelimit.Limit("upload-user", "someone", "Uploads"))
    finally:
        ratelimit.limiter.cache_clear()
