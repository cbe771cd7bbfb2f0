from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments.applications import application_create, gateway_key_create
from deployments.models import ClientApplication, GatewayKey
from deployments.proxy.routes import key_digest
from deployments.services import deployment_save

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(db):
    return deployment_save(name="Shared GPU", base_url="http://gpu-1:8000/v1", served_model_name="llama")


@pytest.fixture
def app(engagement, fde):
    return application_create(engagement=engagement, name="Support bot", actor=fde)


def test_owning_fde_creates_an_application_and_a_key_shown_once(fde_http, engagement, shared):
    response = fde_http.post(
        "/deployments/applications/", {"engagement": engagement.pk, "name": "Claims bot", "priority": "batch"}
    )
    app = ClientApplication.objects.get(name="Claims bot")
    assert response.status_code == 302 and response["Location"] == f"/deployments/applications/{app.uuid}/"

    page = fde_http.post(
        f"/deployments/applications/{app.uuid}/",
        {"name": "production", "deployments": [shared.pk], "requests_per_minute": "60"},
    ).content.decode()
    key = GatewayKey.objects.get(application=app)
    raw = page.split('id="new-key-value">')[1].split("<")[0]
    assert raw.startswith("fgw-") and key_digest(raw) == key.digest and raw not in key.digest
    assert list(key.deployments.all()) == [shared] and key.requests_per_minute == 60
    assert raw not in fde_http.get(f"/deployments/applications/{app.uuid}/").content.decode()


def test_a_key_cannot_reach_another_engagements_deployment(app, fde):
    from django.core.exceptions import ValidationError

    from engagements.services import engagement_create

    other = engagement_create(client=app.engagement.client, name="Other", problem_statement="x", lead=fde)
    private = deployment_save(name="Private", base_url="http://gpu-2:8000/v1", served_model_name="p", engagement=other)
    with pytest.raises(ValidationError):
        gateway_key_create(application=app, name="k", deployments=[private], actor=fde)


def test_owning_fde_revokes_a_key_with_htmx(fde_http, app, shared):
    key, _ = gateway_key_create(application=app, name="k", deployments=[shared], actor=None)
    response = fde_http.post(f"/deployments/applications/{app.uuid}/keys/{key.uuid}/revoke/", HTTP_HX_REQUEST="true")
    key.refresh_from_db()
    assert key.revoked_at is not None and "Revoked" in response.content.decode()


def test_an_fde_not_on_the_engagement_sees_but_cannot_change(other_fde, app, shared, client):
    client.force_login(other_fde)
    key, _ = gateway_key_create(application=app, name="k", deployments=[shared], actor=None)
    assert client.get(f"/deployments/applications/{app.uuid}/").status_code == 200
    assert (
        client.post(f"/deployments/applications/{app.uuid}/", {"name": "x", "deployments": [shared.pk]}).status_code
        == 403
    )
    assert client.post(f"/deployments/applications/{app.uuid}/keys/{key.uuid}/revoke/").status_code == 403
    response = client.post("/deployments/applications/", {"engagement": app.engagement.pk, "name": "Sneaky"})
    assert response.status_code == 200 and not ClientApplication.objects.filter(name="Sneaky").exists()
    key.refresh_from_db()
    assert key.revoked_at is None and GatewayKey.objects.count() == 1


@pytest.mark.parametrize("who", ["member_http", "outsider_http"])
def test_client_users_get_404_on_every_application_page(request, who, app, shared):
    http = request.getfixturevalue(who)
    key, _ = gateway_key_create(application=app, name="k", deployments=[shared], actor=None)
    for path in ["/deployments/applications/", f"/deployments/applications/{app.uuid}/"]:
        assert http.get(path).status_code == 404
    assert http.post(f"/deployments/applications/{app.uuid}/keys/{key.uuid}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_application_list_runs_a_fixed_number_of_queries(fde_http, engagement, fde, shared):
    for n in range(5):
        a = application_create(engagement=engagement, name=f"App {n}", actor=fde)
        gateway_key_create(application=a, name="k", deployments=[shared], actor=fde)
    with CaptureQueriesContext(connection) as queries:
        assert fde_http.get("/deployments/applications/").status_code == 200
    few = len(queries)
    application_create(engagement=engagement, name="App 9", actor=fde)
    with CaptureQueriesContext(connection) as queries:
        fde_http.get("/deployments/applications/")
    assert len(queries) == few
