from __future__ import annotations

import pytest

from accounts.models import User
from deployments.models import GatewayKey, ModelCall, PromptPrefix
from deployments.prompt_shape import render_chat, shape_of
from deployments.proxy.routes import key_digest
from deployments.services import deployment_save
from engagements.models import Engagement
from tests.conftest import PASSWORD
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_fde_creates_a_key_in_the_browser_and_revokes_it(page, fde: User, engagement: Engagement) -> None:
    deployment = deployment_save(name="Shared GPU", base_url="http://gpu-1:8000/v1", served_model_name="llama")
    login(page, fde.email, PASSWORD)
    page.goto("/deployments/")
    page.get_by_role("link", name="Client applications").click()
    page.select_option("select[name=engagement]", str(engagement.pk))
    page.fill("input[name=name]", "Support bot")
    page.get_by_role("button", name="Create application").click()
    page.wait_for_url("**/deployments/applications/*/")

    page.get_by_label(deployment.name).check()
    page.get_by_role("button", name="Create key").click()
    raw = page.locator("#new-key-value").inner_text()
    assert key_digest(raw) == GatewayKey.objects.get().digest

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.locator("#keys").get_by_text("Revoked").wait_for()
    assert GatewayKey.objects.get().revoked_at is not None


def test_prefix_cache_page_draws_its_chart_and_names_the_warning(page, fde: User) -> None:
    deployment = deployment_save(name="GPU", base_url="http://gpu-1:8000/v1", served_model_name="m")
    rules = "Classify the e-mail above into one category and answer with the category only, in lower case, please"
    for subject in ["Broken pallet", "Invoice charged twice", "Late container", "New address", "Water damage"]:
        text = render_chat([{"role": "user", "content": f"Subject: {subject} on my delivery\n\n{rules}."}])
        call = ModelCall.objects.create(deployment=deployment, caller="mailer", total_ms=5)
        PromptPrefix.objects.create(call=call, deployment=deployment, **shape_of(text).as_fields())
    login(page, fde.email, PASSWORD)
    page.goto(f"/deployments/{deployment.uuid}/")
    page.get_by_role("link", name="Prefix-cache advice").click()
    page.locator(".plotly-chart .main-svg").first.wait_for()
    assert (
        page.locator('[data-warning="variable_text_first"]')
        .inner_text()
        .startswith("Variable text before fixed instructions")
    )
