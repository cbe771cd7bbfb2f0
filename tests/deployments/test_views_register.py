from __future__ import annotations

import pytest

from deployments.models import Deployment

pytestmark = pytest.mark.django_db

FORM = {
    "name": "GPU pool",
    "engine": "vllm",
    "base_url": "http://gpu-1:8000/v1",
    "served_model_name": "llama-3.1-8b",
    "context_window": "8192",
    "api_key": "sk-live-abc123",
    "is_active": "",
}


def test_fde_registers_an_endpoint_and_its_key_is_never_shown_again(fde_http):
    response = fde_http.post("/deployments/new/", FORM)
    deployment = Deployment.objects.get(name="GPU pool")
    assert response.status_code == 302 and response["Location"] == f"/deployments/{deployment.uuid}/"
    assert deployment.api_key == "sk-live-abc123"
    assert "sk-live-abc123" not in deployment.api_key_encrypted
    page = fde_http.get(f"/deployments/{deployment.uuid}/edit/").content.decode()
    assert "sk-live-abc123" not in page
    assert "a key is stored" in page


def test_editing_without_a_new_key_keeps_the_stored_one(fde_http):
    fde_http.post("/deployments/new/", FORM)
    deployment = Deployment.objects.get(name="GPU pool")
    fde_http.post(f"/deployments/{deployment.uuid}/edit/", {**FORM, "api_key": "", "context_window": "4096"})
    deployment.refresh_from_db()
    assert deployment.context_window == 4096
    assert deployment.api_key == "sk-live-abc123"


def test_a_bad_url_is_refused_on_the_form_with_an_example(fde_http):
    response = fde_http.post("/deployments/new/", {**FORM, "base_url": "gpu-1:8000"})
    assert response.status_code == 200
    assert "starting with http:// or https://" in response.content.decode()
    assert not Deployment.objects.exists()


def test_detail_says_a_down_endpoint_is_not_answering(fde_http):
    fde_http.post("/deployments/new/", {**FORM, "base_url": "http://127.0.0.1:9/v1", "is_active": "on"})
    deployment = Deployment.objects.get(name="GPU pool")
    html = fde_http.get(f"/deployments/{deployment.uuid}/").content.decode()
    assert "Not answering" in html


@pytest.mark.parametrize("path", ["/deployments/new/"])
def test_client_users_cannot_register_endpoints(member_http, outsider_http, path):
    assert member_http.get(path).status_code == 404
    assert outsider_http.post(path, FORM).status_code == 404
    assert not Deployment.objects.exists()
