from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def _production(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        FDE_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="fde.example.com",
        DATABASE_URL="postgres://fde@db.invalid/fde",  # check --deploy reads settings only
    )
    env.update(extra)
    return env


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy() -> None:
    result = _check(_production())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_turning_off_https_redirect_and_hsts_is_reported_by_check_deploy() -> None:
    result = _check(_production(DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_HSTS_SECONDS="0"))
    assert result.returncode != 0
    assert "security.W008" in result.stderr and "security.W004" in result.stderr


def _settings_in(env: dict[str, str], code: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; "
            f"django.setup(); from django.conf import settings as s; print({code})",
        ],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_a_tls_proxy_in_front_is_configured_by_environment() -> None:
    env = _production(DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO", DJANGO_HSTS_SECONDS="600")
    assert _settings_in(env, "s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT") == (
        "('HTTP_X_FORWARDED_PROTO', 'https') 600 True"
    )


@pytest.mark.django_db
def test_behind_the_proxy_https_requests_are_served_and_plain_ones_redirected(client, settings, fde) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 600
    plain = client.get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    secure = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=600")
    assert client.get("/healthz").status_code in {200, 503}, "load balancers probe health over plain HTTP"
