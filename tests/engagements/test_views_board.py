from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from accounts.models import Client, User
from engagements.models import Assignment, Engagement, GateCriterion, Phase


@pytest.fixture
def portfolio(client_org: Client, other_client_org: Client, fde: User, other_fde: User) -> list[Engagement]:
    """300 engagements across phases, clients, healths and FDEs, each with three criteria in its phase."""
    phases, healths = itertools.cycle(Phase.values), itertools.cycle(Engagement.Health.values)
    rows = Engagement.objects.bulk_create(
        Engagement(
            client=client_org if i % 2 else other_client_org,
            name=f"Engagement {i:03}",
            phase=next(phases),
            health=(health := next(healths)),
            health_reason="" if health == "on_track" else "Data late",
            target_date=dt.date(2027, 1, 1) + dt.timedelta(days=i),
        )
        for i in range(300)
    )
    Assignment.objects.bulk_create(
        Assignment(engagement=e, user=fde if i % 4 else other_fde, role="lead") for i, e in enumerate(rows)
    )
    GateCriterion.objects.bulk_create(
        GateCriterion(engagement=e, phase=e.phase, label=f"Item {n}", last_passed=n < i % 4)
        for i, e in enumerate(rows)
        for n in range(3)
    )
    return rows


def test_board_shows_every_engagement_in_its_phase_column_in_constant_queries(
    fde_http: HttpClient, portfolio: list[Engagement], django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(10):
        response = fde_http.get(reverse("engagements:list"))
    assert response.status_code == 200
    columns = {phase: cards for phase, _, cards in response.context["columns"]}
    assert sum(len(cards) for cards in columns.values()) == 300
    assert all(e.phase == phase for phase, cards in columns.items() for e in cards)
    card = next(e for e in columns["discover"] if e.name == "Engagement 005")
    assert (card.criteria_met, card.criteria_total) == (1, 3)


def test_list_view_sorts_and_stays_constant_in_queries(
    fde_http: HttpClient, portfolio: list[Engagement], django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(10):
        response = fde_http.get(reverse("engagements:table"), {"sort": "-target"})
    names = [e.name for e in response.context["engagements"]]
    assert names[0] == "Engagement 299" and len(names) == 300
    response = fde_http.get(reverse("engagements:table"), {"sort": "phase"})
    phases = [e.phase for e in response.context["engagements"]]
    assert phases == sorted(phases, key=Phase.position_of)


def test_board_filters_by_client_fde_and_health(
    fde_http: HttpClient, portfolio: list[Engagement], other_client_org: Client, other_fde: User
) -> None:
    response = fde_http.get(
        reverse("engagements:list"), {"client": other_client_org.slug, "fde": other_fde.email, "health": "at_risk"}
    )
    shown = [e for _, _, cards in response.context["columns"] for e in cards]
    assert shown and all(
        e.client_id == other_client_org.pk and e.health == "at_risk" and e.assignments.all()[0].user == other_fde
        for e in shown
    )


def test_archived_engagements_leave_the_board(fde_http: HttpClient, engagement: Engagement, fde: User) -> None:
    from engagements.services import engagement_archive

    engagement_archive(engagement=engagement, actor=fde)
    assert engagement.name not in fde_http.get(reverse("engagements:list")).content.decode()
    assert engagement.name in fde_http.get(reverse("engagements:list"), {"archived": "1"}).content.decode()


def test_client_member_gets_404_on_the_board(member_http: HttpClient, engagement: Engagement) -> None:
    assert member_http.get(reverse("engagements:list")).status_code == 404
    assert member_http.get(reverse("engagements:table")).status_code == 404


def test_outsider_gets_404_on_the_board(outsider_http: HttpClient, engagement: Engagement) -> None:
    assert outsider_http.get(reverse("engagements:list")).status_code == 404


def test_move_control_opens_the_gate_check(fde_http: HttpClient, engagement: Engagement) -> None:
    page = fde_http.get(reverse("engagements:advance", kwargs={"uuid": engagement.uuid}), {"to": "prototype"})
    assert page.status_code == 200
    assert "Advance to Prototype" in page.content.decode()


def test_dropping_a_card_on_an_earlier_column_asks_for_a_reason(
    fde_http: HttpClient, engagement: Engagement, fde
) -> None:
    from engagements.services import engagement_advance_phase

    engagement_advance_phase(engagement=engagement, actor=fde, override_reason="Sponsor asked to start")
    page = fde_http.get(reverse("engagements:advance", kwargs={"uuid": engagement.uuid}), {"to": "discover"})
    html = page.content.decode()
    assert "back to Discover?" in html and "Going back needs a reason" in html
    assert '<option value="discover" selected>' in html
