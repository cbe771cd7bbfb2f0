from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_client_member_sees_their_engagement_in_the_portal(member_http, engagement):
    html = member_http.get("/portal/").content.decode()
    assert engagement.name in html
    assert member_http.get(f"/portal/engagements/{engagement.uuid}/").status_code == 200


def test_outsider_gets_404_on_another_clients_portal_engagement(outsider_http, engagement):
    assert engagement.name not in outsider_http.get("/portal/").content.decode()
    assert outsider_http.get(f"/portal/engagements/{engagement.uuid}/").status_code == 404


def test_fde_previews_a_clients_portal(fde_http, engagement):
    html = fde_http.get(f"/portal/?client={engagement.client.slug}").content.decode()
    assert "Portal preview" in html
    assert engagement.name in html
    assert fde_http.get(f"/portal/engagements/{engagement.uuid}/").status_code == 200


@pytest.mark.parametrize("path", ["/engagements/", "/rag/", "/deployments/"])
def test_the_provider_workspace_does_not_exist_for_client_users(member_http, path):
    assert member_http.get(path).status_code == 404


def test_outsider_gets_404_on_the_fde_engagement_page(outsider_http, member_http, fde_http, engagement):
    assert outsider_http.get(f"/engagements/{engagement.uuid}/").status_code == 404
    assert member_http.get(f"/engagements/{engagement.uuid}/").status_code == 404
    assert fde_http.get(f"/engagements/{engagement.uuid}/").status_code == 200
