from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.seed import CLIENT_ADMIN, DEMO_CLIENT, FDE_LEAD, OTHER_MEMBER
from engagements.models import Engagement
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _logout(page) -> None:
    page.locator("nav button.dropdown-toggle").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")


def test_each_demo_persona_logs_in_and_sees_only_what_it_should(page):
    call_command("seed_demo", verbosity=0)
    demo = Engagement.objects.filter(client__name=DEMO_CLIENT).order_by("created_at").first()
    assert demo is not None

    login(page, FDE_LEAD.email, FDE_LEAD.password)
    assert page.url.endswith("/engagements/")
    assert page.get_by_role("link", name="Deployments").is_visible()
    page.wait_for_selector("#health-badge[data-status]")
    page.goto(f"/engagements/{demo.uuid}/")
    assert demo.name in page.content()
    _logout(page)

    login(page, CLIENT_ADMIN.email, CLIENT_ADMIN.password)
    assert "/portal/" in page.url
    assert page.get_by_role("link", name="Deployments").count() == 0
    page.goto(f"/portal/engagements/{demo.uuid}/")
    assert demo.name in page.content()
    response = page.goto("/engagements/")
    assert response is not None and response.status == 404
    _logout(page)

    login(page, OTHER_MEMBER.email, OTHER_MEMBER.password)
    assert "/portal/" in page.url
    assert demo.name not in page.content()
    response = page.goto(f"/portal/engagements/{demo.uuid}/")
    assert response is not None and response.status == 404
    assert "Page not found" in page.content()


def test_a_wrong_password_is_refused_in_the_browser(page):
    call_command("seed_demo", verbosity=0)
    login(page, FDE_LEAD.email, "not-the-password")
    assert "/accounts/login/" in page.url
    assert page.locator(".alert-danger").is_visible()


def test_the_fde_reaches_every_knowledge_page_from_the_navigation(page):
    call_command("seed_demo", verbosity=0)
    login(page, FDE_LEAD.email, FDE_LEAD.password)
    for item, url_part in [
        ("Knowledge bases", "/rag/"),
        ("Prototypes", "/rag/prototypes/"),
        ("Eval datasets", "/rag/eval/datasets/"),
    ]:
        page.get_by_role("button", name="Knowledge & prototypes").click()
        page.locator("#mainnav").get_by_role("link", name=item).click()
        page.wait_for_load_state("networkidle")
        assert page.url.endswith(url_part)
