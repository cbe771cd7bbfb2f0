from __future__ import annotations

import datetime as dt
from decimal import Decimal
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


def roi_fill(engagement: Engagement, fde: User) -> Engagement:
    """An engagement with rates, costs, a valued KPI and a scenario: the figures a client must see without rates."""
    from engagements.services import kpi_create, kpi_measurement_record, time_entry_create
    from engagements.services.roi import (
        cost_item_create,
        hourly_rate_create,
        roi_assumptions_update,
        roi_scenario_save,
        valuation_rule_create,
    )

    engagement.currency = "EUR"
    engagement.save(update_fields=["currency"])
    roi_assumptions_update(
        engagement=engagement,
        actor=fde,
        start_month=dt.date(2026, 1, 1),
        go_live_month=dt.date(2026, 3, 1),
        horizon_months=12,
        volume_unit="claims",
        infra_basis="hours",
        infra_hourly_price=Decimal("3.17"),
        note="INTERNAL-ASSUMPTION-NOTE",
    )
    hourly_rate_create(
        engagement=engagement,
        actor=fde,
        hourly_rate=Decimal("187.35"),
        effective_from=dt.date(2026, 1, 1),
        note="INTERNAL-RATE-NOTE",
    )
    time_entry_create(engagement=engagement, actor=fde, date=dt.date(2026, 1, 12), hours=Decimal("7.5"))
    cost_item_create(
        engagement=engagement,
        actor=fde,
        name="Security review",
        amount=Decimal("4321.09"),
        starts_on=dt.date(2026, 2, 1),
        note="INTERNAL-COST-NOTE",
    )
    kpi = kpi_create(
        engagement=engagement, actor=fde, name="Handling time", unit="min", direction="lower", baseline=25, target=12
    )
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=dt.date(2026, 3, 5), value=19)
    valuation_rule_create(
        engagement=engagement,
        actor=fde,
        kpi=kpi,
        kind="hours_saved",
        unit_value=Decimal("43.21"),
        note="INTERNAL-RULE-NOTE",
    )
    roi_scenario_save(
        engagement=engagement, actor=fde, name="Expected", volume_per_month=Decimal(4000), note="INTERNAL-SCENARIO-NOTE"
    )
    return engagement
