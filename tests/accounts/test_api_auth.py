from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_published():
    schema = HttpClient().get("/api/openapi.json").json()
    assert schema["info"]["title"] == "FDE Toolkit API"
    assert any(path.startswith("/api/engagements/") for path in schema["paths"])


def test_api_refuses_a_caller_without_credentials(engagement):
    assert HttpClient().get("/api/engagements/").status_code == 401


def test_a_bearer_token_authenticates_and_is_scoped_to_its_user(engagement, client_member, outsider):
    _, member_token = api_token_create(user=client_member, name="ci")
    _, outsider_token = api_token_create(user=outsider, name="ci")
    http = HttpClient()
    mine = http.get("/api/engagements/", HTTP_AUTHORIZATION=f"Bearer {member_token}").json()
    assert [e["name"] for e in mine] == [engagement.name]
    theirs = http.get("/api/engagements/", HTTP_AUTHORIZATION=f"Bearer {outsider_token}").json()
    assert theirs == []
    response = http.get(f"/api/engagements/{engagement.uuid}", HTTP_AUTHORIZATION=f"Bearer {outsider_token}")
    assert response.status_code == 404


def test_a_wrong_token_is_refused(engagement):
    response = HttpClient().get("/api/engagements/", HTTP_AUTHORIZATION="Bearer fde_not-a-token")
    assert response.status_code == 401
