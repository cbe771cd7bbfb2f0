from __future__ import annotations

import pytest

from accounts.models import User
from engagements.models import Engagement
from tests.conftest import PASSWORD
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dragging_a_card_to_the_next_column_opens_its_gate_check(page, fde: User, engagement: Engagement) -> None:
    login(page, fde.email, PASSWORD)
    page.goto("/engagements/")
    page.wait_for_load_state()
    card = page.locator(f'.board-card[data-uuid="{engagement.uuid}"]')
    card.drag_to(page.locator('.board-column[data-phase="prototype"]'))
    page.wait_for_url(f"**/engagements/{engagement.uuid}/advance/?to=prototype")
    assert page.get_by_role("button", name="Advance to Prototype").is_visible()
    assert page.locator("#gate-panel .gate-criterion.failing").count() > 0
