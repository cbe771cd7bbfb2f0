from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from accounts.services import user_create_provider
from deployments.models import Deployment
from deployments.services import deployment_save
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

EDIT = {
    "name": "Claims model",
    "engine": "vllm",
    "base_url": "http://gpu-1:8000/v1",
    "served_model_name": "llama",
    "is_active": "on",
}


@pytest.fixture
def claims_model(engagement):
    return deployment_save(
        name="Claims model",
        base_url="http://gpu-1:8000/v1",
        served_model_name="llama",
        api_key="sk-client-secret",
        engagement=engagement,
    )


@pytest.fixture
def other_fde_http(other_fde):
    http = HttpClient()
    http.force_login(other_fde)
    return http


def test_owning_fde_can_open_and_change_the_engagements_deployment(fde_http, claims_model, engagement):
    assert fde_http.get(f"/deployments/{claims_model.uuid}/edit/").status_code == 200
    response = fde_http.post(f"/deployments/{claims_model.uuid}/edit/", {**EDIT, "engagement": engagement.pk})
    assert response.status_code == 302


def test_an_fde_outside_the_engagement_sees_but_cannot_change_its_deployment(other_fde_http, claims_model):
    assert other_fde_http.get(f"/deployments/{claims_model.uuid}/").status_code == 200
    assert other_fde_http.get(f"/deployments/{claims_model.uuid}/edit/").status_code == 403
    response = other_fde_http.post(
        f"/deployments/{claims_model.uuid}/edit/", {**EDIT, "base_url": "http://127.0.0.1:9999/v1"}
    )
    assert response.status_code == 403
    claims_model.refresh_from_db()
    assert claims_model.base_url == "http://gpu-1:8000/v1"
    assert claims_model.api_key == "sk-client-secret"
    assert other_fde_http.post(f"/deployments/{claims_model.uuid}/check/").status_code == 403
    assert other_fde_http.post(f"/deployments/{claims_model.uuid}/webhook/", {"url": "http://x:1/"}).status_code == 403


@pytest.mark.parametrize("path", ["", "edit/", "plan/", "launch/compose/"])
def test_client_users_get_404_on_every_deployment_page(member_http, outsider_http, claims_model, path):
    for http in (member_http, outsider_http):
        assert http.get(f"/deployments/{claims_model.uuid}/{path}").status_code == 404
    assert outsider_http.post(f"/deployments/{claims_model.uuid}/edit/", EDIT).status_code == 404


def test_a_shared_endpoint_is_changed_only_by_whoever_registered_it_or_a_superuser(fde_http, other_fde_http):
    fde_http.post("/deployments/new/", {**EDIT, "name": "Shared GPU"})
    shared = Deployment.objects.get(name="Shared GPU")
    assert fde_http.get(f"/deployments/{shared.uuid}/edit/").status_code == 200
    assert other_fde_http.get(f"/deployments/{shared.uuid}/edit/").status_code == 403
    root = user_create_provider(email="root@provider.test", password=PASSWORD)
    root.is_superuser = True
    root.save()
    http = HttpClient()
    http.force_login(root)
    assert http.get(f"/deployments/{shared.uuid}/edit/").status_code == 200


def test_an_fde_cannot_attach_a_deployment_to_someone_elses_engagement(other_fde_http, engagement):
    response = other_fde_http.post("/deployments/new/", {**EDIT, "engagement": engagement.pk})
    assert response.status_code == 200
    assert not Deployment.objects.filter(name="Claims model").exists()


def test_changing_the_base_url_clears_the_stored_key_unless_one_is_entered(fde_http, claims_model, engagement):
    form = {**EDIT, "engagement": engagement.pk, "base_url": "http://gpu-2:8000/v1"}
    fde_http.post(f"/deployments/{claims_model.uuid}/edit/", form)
    claims_model.refresh_from_db()
    assert claims_model.base_url == "http://gpu-2:8000/v1" and claims_model.api_key == ""
    fde_http.post(
        f"/deployments/{claims_model.uuid}/edit/", {**form, "base_url": "http://gpu-3:8000/v1", "api_key": "sk-3"}
    )
    claims_model.refresh_from_db()
    assert claims_model.api_key == "sk-3"
    fde_http.post(f"/deployments/{claims_model.uuid}/edit/", {**form, "base_url": "http://gpu-3:8000/v1"})
    claims_model.refresh_from_db()
    assert claims_model.api_key == "sk-3"  # same URL: the key stays
