from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from accounts.models import Client, Membership, User
from accounts.services import client_create, user_create_client_member, user_create_provider
from engagements.models import Engagement
from engagements.services import engagement_create

pytest_plugins = ["tests.fixtures_services", "tests.crawl"]

PASSWORD = "test-pass-1234"


@pytest.fixture
def client_org(db: Any) -> Client:
    return client_create(name="Acme Test", industry="Logistics")


@pytest.fixture
def other_client_org(db: Any) -> Client:
    return client_create(name="Globex Test", industry="Healthcare")


@pytest.fixture
def fde(db: Any) -> User:
    return user_create_provider(email="fde@provider.test", password=PASSWORD, first_name="Fay")


@pytest.fixture
def other_fde(db: Any) -> User:
    return user_create_provider(email="fde2@provider.test", password=PASSWORD, first_name="Finn")


@pytest.fixture
def client_member(client_org: Client) -> User:
    return user_create_client_member(client=client_org, email="member@acme.test", password=PASSWORD)


@pytest.fixture
def client_admin(client_org: Client) -> User:
    return user_create_client_member(
        client=client_org, email="admin@acme.test", password=PASSWORD, role=Membership.Role.ADMIN
    )


@pytest.fixture
def outsider(other_client_org: Client) -> User:
    return user_create_client_member(client=other_client_org, email="outsider@globex.test", password=PASSWORD)


@pytest.fixture
def engagement(client_org: Client, fde: User) -> Engagement:
    return engagement_create(client=client_org, name="Claims assistant", problem_statement="Triage claims.", lead=fde)


@pytest.fixture
def roi_engagement(engagement: Engagement, fde) -> Engagement:
    """An engagement with rates, costs, a valued KPI and a scenario: the figures a client must see without rates."""
    from tests.engagements.roi_builders import roi_fill

    return roi_fill(engagement, fde)


def _logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def fde_http(fde: User) -> HttpClient:
    return _logged_in(fde)


@pytest.fixture
def member_http(client_member: User) -> HttpClient:
    return _logged_in(client_member)


@pytest.fixture
def outsider_http(outsider: User) -> HttpClient:
    return _logged_in(outsider)
