from __future__ import annotations

import pytest

from accounts.models import User
from engagements.models import Engagement, RoiScenario
from tests.conftest import PASSWORD
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_fde_tries_inputs_live_saves_a_scenario_and_compares_it(page, fde: User, roi_engagement: Engagement) -> None:
    login(page, fde.email, PASSWORD)
    page.goto(f"/engagements/{roi_engagement.uuid}/")
    page.get_by_role("link", name="ROI").click()
    page.wait_for_selector("#roi-chart .main-svg")  # drawn from data-figure, without an inline script
    before = page.inner_text("#roi-benefit")
    assert before.startswith("€")

    page.fill("#roi-scenario-form [name=volume_per_month]", "8000")
    page.wait_for_function(
        "before => document.querySelector('#roi-benefit').innerText !== before", arg=before, timeout=15_000
    )
    page.wait_for_selector("#roi-results :text('not saved')")
    page.wait_for_selector("#roi-chart .main-svg")
    assert RoiScenario.objects.get(engagement=roi_engagement).volume_per_month == 4000

    page.fill("#roi-scenario-form [name=name]", "Peak season")
    page.get_by_role("button", name="Save as new scenario").click()
    page.wait_for_selector("[aria-label='Saved scenarios'] :text('Peak season')")
    assert RoiScenario.objects.get(engagement=roi_engagement, name="Peak season").volume_per_month == 8000

    page.get_by_role("link", name="Compare scenarios").click()
    page.wait_for_selector("#roi-compare-chart .main-svg")
    header = page.inner_text(".roi-compare thead")
    assert "Expected" in header and "Peak season" in header
