from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient

from accounts.services import api_token_create
from tests.conftest import PASSWORD
from tests.ratelimits import clear_limits

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_windows(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "bad-api-token-address": "3/15 minutes"}
    clear_limits()
    yield
    clear_limits()


def _login(email: str, password: str, address: str = "10.0.0.5") -> HttpClient | object:
    http = HttpClient(REMOTE_ADDR=address)
    return http.post("/accounts/login/", {"username": email, "password": password})


def test_an_account_is_locked_after_repeated_failures_even_with_the_right_password(fde):
    assert [_login(fde.email, "wrong").status_code for _ in range(3)] == [200, 200, 429]
    response = _login(fde.email, PASSWORD, address="10.0.0.99")  # another address: the account itself is locked
    assert response.status_code == 429
    page = response.content.decode()
    assert "Login locked" in page and "15 minutes" in page and "unlock" in page
    assert response["Retry-After"] == "900"


def test_an_address_is_locked_after_failures_across_accounts(fde, client_member):
    for email in ("nobody@example.test", "someone@example.test", client_member.email):
        _login(email, "wrong", address="10.0.0.7")
    assert _login(fde.email, PASSWORD, address="10.0.0.7").status_code == 429
    assert _login(fde.email, PASSWORD, address="10.0.0.8").status_code == 302


def test_provider_staff_unlock_an_account(fde):
    for _ in range(3):
        _login(fde.email, "wrong")
    assert _login(fde.email, PASSWORD).status_code == 429
    call_command("access_unlock", email=fde.email, address="10.0.0.5")
    assert _login(fde.email, PASSWORD).status_code == 302


def test_bad_api_tokens_lock_out_the_address_with_a_clear_429(fde):
    _, good = api_token_create(user=fde, name="ci")
    attacker = HttpClient(REMOTE_ADDR="10.0.0.66")
    for n in range(3):
        response = attacker.get("/api/engagements/", headers={"Authorization": f"Bearer fde_guess{n}"})
        assert response.status_code == 401
    locked = attacker.get("/api/engagements/", headers={"Authorization": f"Bearer {good}"})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "Too many requests with an unknown or revoked API token" in locked.json()["detail"]
    elsewhere = HttpClient(REMOTE_ADDR="10.0.0.67")
    assert elsewhere.get("/api/engagements/", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    call_command("access_unlock", address="10.0.0.66")
    assert attacker.get("/api/engagements/", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_the_address_behind_trusted_proxies_is_the_one_counted(fde, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(3):
        HttpClient(REMOTE_ADDR="10.1.1.1").get(
            "/api/engagements/",
            headers={"Authorization": f"Bearer fde_guess{n}", "X-Forwarded-For": "203.0.113.9"},
        )
    _, good = api_token_create(user=fde, name="ci")
    behind_same_proxy = HttpClient(REMOTE_ADDR="10.1.1.1")
    other_caller = behind_same_proxy.get(
        "/api/engagements/", headers={"Authorization": f"Bearer {good}", "X-Forwarded-For": "203.0.113.10"}
    )
    assert other_caller.status_code == 200
    same_caller = behind_same_proxy.get(
        "/api/engagements/", headers={"Authorization": f"Bearer {good}", "X-Forwarded-For": "203.0.113.9"}
    )
    assert same_caller.status_code == 429
