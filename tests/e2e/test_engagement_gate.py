from __future__ import annotations

import pytest

from accounts.models import Client, User
from engagements.models import Engagement, Phase
from tests.conftest import PASSWORD
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _tick(page, label: str) -> None:
    page.wait_for_load_state()  # htmx wires the checkboxes once the page has loaded
    page.get_by_role("checkbox", name=label).check()
    page.wait_for_selector(f'[data-criterion="{label}"].passed')


def _add(page, tab: str, summary: str, fields: dict[str, str], selects: dict[str, str]) -> None:
    page.get_by_role("link", name=tab).click()
    page.wait_for_load_state()
    page.get_by_text(summary).first.click()
    for name, value in fields.items():
        page.fill(f"#section [name={name}]", value)
    for name, value in selects.items():
        page.select_option(f"#section [name={name}]", value)
    page.locator("#section form button[type=submit]").first.click()
    page.wait_for_selector(f"#section :text('{fields[next(iter(fields))]}')")


def test_fde_creates_engagement_is_refused_at_the_gate_satisfies_it_and_advances(
    page, fde: User, client_org: Client
) -> None:
    login(page, fde.email, PASSWORD)
    page.get_by_role("link", name="New engagement").click()
    page.select_option("select[name=client]", str(client_org.pk))
    page.fill("input[name=name]", "Returns triage")
    page.fill("input[name=start_date]", "2026-11-01")
    page.fill("input[name=target_date]", "2027-02-01")
    page.get_by_role("button", name="Create engagement").click()
    page.wait_for_selector("#gate-panel")
    assert "Discover" in page.locator(".phase-stepper li.current").inner_text()

    _tick(page, "Data access granted")
    page.get_by_role("button", name="Advance to Prototype").click()
    error = page.wait_for_selector("#advance-error")
    assert "The gate is not met" in error.inner_text()
    assert "Kick-off workshop held with the sponsor" in error.inner_text()
    engagement = Engagement.objects.get(name="Returns triage")
    assert engagement.phase == Phase.DISCOVER

    _tick(page, "Kick-off workshop held with the sponsor")
    _tick(page, "Security review scheduled")
    _add(page, "Stakeholders", "Add stakeholder", {"name": "Sam Sponsor"}, {"role": "sponsor"})
    _add(
        page,
        "Requirements",
        "Add requirement",
        {"title": "Route returns to the right desk", "acceptance_criteria": "90% routed correctly on 100 returns"},
        {"priority": "must"},
    )
    page.get_by_role("link", name="Overview").click()
    page.wait_for_selector("#gate-panel .gate-progress:text('5 of 5 met')")
    page.fill("#advance-note", "Discovery signed off")
    page.get_by_role("button", name="Advance to Prototype").click()
    page.wait_for_selector(".phase-stepper li.current:has-text('Prototype')")

    engagement.refresh_from_db()
    assert engagement.phase == Phase.PROTOTYPE
    transition = engagement.transitions.get()
    assert transition.actor == fde and transition.note == "Discovery signed off" and not transition.is_override
    assert "Discovery signed off" in page.locator("#timeline").inner_text()
