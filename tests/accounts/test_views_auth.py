from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_email_and_password_redirects_a_provider_to_engagements(fde):
    http = HttpClient()
    response = http.post("/accounts/login/", {"username": fde.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/engagements/"
    assert response.context["user"] == fde


def test_login_redirects_a_client_user_to_the_portal(client_member):
    http = HttpClient()
    response = http.post("/accounts/login/", {"username": client_member.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/portal/"


def test_wrong_password_shows_an_error_on_the_form(fde):
    response = HttpClient().post("/accounts/login/", {"username": fde.email, "password": "nope"})
    assert response.status_code == 200
    assert "correct e-mail" in response.content.decode().lower()


def test_logout_is_a_post_and_ends_the_session(fde_http):
    assert fde_http.post("/accounts/logout/").status_code == 302
    assert fde_http.get("/engagements/").status_code == 302


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/engagements/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_page_header_carries_htmx_csrf_header_and_health_indicator(fde_http):
    html = fde_http.get("/engagements/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken"' in html
    assert 'id="health-badge"' in html
    for label in ("Engagements", "Knowledge &amp; prototypes", "Deployments", "Portal preview"):
        assert label in html


def test_assets_are_served_locally_never_from_a_cdn(fde_http):
    html = fde_http.get("/engagements/").content.decode()
    assert "cdn" not in html.lower()
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html
