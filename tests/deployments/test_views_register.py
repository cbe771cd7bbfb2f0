from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deployments.models import Deployment
from deployments.services import deployment_check_health

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
SMOLLM2 = {
    "model_type": "llama", "hidden_act": "silu", "hidden_size": 576, "intermediate_size": 1536, "head_dim": 64,
    "max_position_embeddings": 8192, "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3,
    "vocab_size": 49152, "tie_word_embeddings": True,
}  # fmt: skip


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


def test_detail_shows_the_last_health_check_of_a_down_endpoint(fde_http):
    fde_http.post("/deployments/new/", {**FORM, "base_url": "http://127.0.0.1:9/v1", "is_active": "on"})
    deployment = Deployment.objects.get(name="GPU pool")
    assert "Not checked yet" in fde_http.get(f"/deployments/{deployment.uuid}/").content.decode()
    deployment_check_health(deployment=deployment)
    html = fde_http.get(f"/deployments/{deployment.uuid}/").content.decode()
    assert "Not answering" in html and "could not connect" in html


def test_the_form_fills_the_models_shape_from_an_uploaded_config_json(fde_http):
    config = SimpleUploadedFile("config.json", json.dumps(SMOLLM2).encode(), content_type="application/json")
    response = fde_http.post("/deployments/new/", {**FORM, "config_file": config, "parameters_b": ""})
    assert response.status_code == 302
    deployment = Deployment.objects.get(name="GPU pool")
    assert (deployment.num_layers, deployment.num_kv_heads, deployment.head_dim) == (30, 3, 64)
    assert deployment.max_position_embeddings == 8192
    assert deployment.parameters_b == Decimal("0.135")


def test_a_stated_parameter_count_wins_over_the_estimate(fde_http):
    fde_http.post("/deployments/new/", {**FORM, "config_json": json.dumps(SMOLLM2), "parameters_b": "0.2"})
    assert Deployment.objects.get(name="GPU pool").parameters_b == Decimal("0.2")


def test_a_broken_config_json_is_refused_with_what_to_do(fde_http):
    response = fde_http.post("/deployments/new/", {**FORM, "config_json": '{"vocab_size": 5}'})
    assert response.status_code == 200
    assert "has no num_hidden_layers" in response.content.decode()
    assert not Deployment.objects.exists()


def test_read_config_button_returns_the_shape_fields(fde_http):
    response = fde_http.post("/deployments/config-shape/", {"config_json": json.dumps(SMOLLM2)})
    html = response.content.decode()
    assert 'id="id_num_layers" value="30" hx-swap-oob="true"' in html
    assert "estimated from the layer sizes" in html


@pytest.mark.parametrize("path", ["/deployments/new/"])
def test_client_users_cannot_register_endpoints(member_http, outsider_http, path):
    assert member_http.get(path).status_code == 404
    assert outsider_http.post(path, FORM).status_code == 404
    assert not Deployment.objects.exists()
