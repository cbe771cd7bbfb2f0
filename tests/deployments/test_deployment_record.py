from __future__ import annotations

import pytest
from django.db import connection

from deployments.models import Deployment
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db


def test_api_key_is_encrypted_at_rest_and_kept_when_not_given_again():
    deployment = deployment_save(
        name="GPU", base_url="http://gpu:8000/v1", served_model_name="llama", api_key="sk-secret-123"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted FROM deployments_deployment WHERE id = %s", [deployment.pk])
        stored = cursor.fetchone()[0]
    assert "sk-secret-123" not in stored
    again = deployment_save(name="GPU", base_url="http://gpu:8000/v1/", served_model_name="llama-2")
    assert Deployment.objects.get(pk=again.pk).api_key == "sk-secret-123"
    assert again.root_url == "http://gpu:8000"


def test_a_new_base_url_drops_the_stored_key_unless_it_is_given_again():
    deployment_save(name="GPU", base_url="http://gpu:8000/v1", served_model_name="llama", api_key="sk-secret-123")
    moved = deployment_save(name="GPU", base_url="http://attacker.example:8000/v1", served_model_name="llama")
    assert Deployment.objects.get(pk=moved.pk).api_key == ""
    rekeyed = deployment_save(
        name="GPU", base_url="http://gpu-2:8000/v1", served_model_name="llama", api_key="sk-new-456"
    )
    assert Deployment.objects.get(pk=rekeyed.pk).api_key == "sk-new-456"


def test_api_key_is_never_rendered_back(fde_http):
    deployment = deployment_save(name="GPU", base_url="http://gpu:8000/v1", served_model_name="m", api_key="sk-xyz-789")
    for path in (
        "/deployments/",
        f"/deployments/{deployment.uuid}/",
        f"/admin/deployments/deployment/{deployment.pk}/change/",
    ):
        html = fde_http.get(path).content.decode()
        assert "sk-xyz-789" not in html
        assert deployment.api_key_encrypted not in html


def test_outsider_cannot_see_deployments(outsider_http):
    deployment = deployment_save(name="GPU", base_url="http://gpu:8000/v1", served_model_name="m")
    assert outsider_http.get(f"/deployments/{deployment.uuid}/").status_code == 404
