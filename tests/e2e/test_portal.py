"""The client portal in a real browser on a 390 px phone: a client admin sees the engagement and its ROI chart,
asks the prototype and rates the answer, shares a document and watches it ingest; no portal page scrolls sideways;
reads the gate review pack with its scorecard and latency charts; another client's member sees none of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.services import client_branding_update
from engagements.models import Engagement
from rag.models import Answer, Prototype
from rag.services.knowledge_base import knowledge_base_create
from tests.conftest import PASSWORD
from tests.engagements.review_builders import built_by_worker, pack_evidence
from tests.fixtures_services import login
from tests.portal.images import png_upload
from tests.rag.prototype_builders import index, local_deployment, make_prototype

pytestmark = [pytest.mark.e2e, pytest.mark.vllm, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def prototype(
    roi_engagement: Engagement, fde: Any, vllm_server: dict[str, str], settings: Any, tmp_path: Path
) -> Prototype:
    # MEDIA_ROOT stays the default: the real worker process reads the uploaded originals from there.
    client_branding_update(client=roi_engagement.client, brand_name="", accent_color="#0b7a75", logo=png_upload())
    kb = knowledge_base_create(engagement=roi_engagement, name="Policies", actor=fde, chunk_size=300, chunk_overlap=40)
    return make_prototype(index(kb), local_deployment(vllm_server), max_tokens=30)


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the phone's screen (0 when nothing scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_a_client_admin_uses_the_portal_on_a_phone_and_an_outsider_sees_none_of_it(
    page: Any, client_admin: Any, outsider: Any, prototype: Prototype, fde: Any, celery_worker: Any, tmp_path: Path
) -> None:
    engagement = prototype.knowledge_base.engagement
    kb = prototype.knowledge_base
    page.set_viewport_size(PHONE)
    login(page, client_admin.email, PASSWORD)
    visited: dict[str, int] = {}

    page.goto("/portal/")
    page.wait_for_selector(f".engagement-card[data-engagement='{engagement.uuid}']")
    assert page.locator(".portal-logo").count() == 1
    visited["/portal/"] = _overflow(page)

    page.goto(f"/portal/engagements/{engagement.uuid}/")
    page.wait_for_selector("#portal-roi-chart .main-svg")
    visited[page.url] = _overflow(page)

    page.goto(f"/portal/prototypes/{prototype.uuid}/")
    page.fill("#ask-form textarea[name=question]", "Within how many days must damaged freight claims be filed?")
    page.click("#ask-form button[type=submit]")
    card = page.wait_for_selector(".answer-card[data-status=done], .answer-card[data-status=failed]", timeout=90_000)
    assert card.get_attribute("data-status") == "done"
    card.query_selector("button[title='Not helpful']").click()
    answer = Answer.objects.get()
    page.fill(f"#correction-{answer.uuid} textarea", "Fourteen calendar days.")
    page.click("text=Send: not helpful")
    page.wait_for_selector("text=will be reviewed")
    visited[page.url] = _overflow(page)

    page.goto("/portal/feedback/")
    page.wait_for_selector(".feedback-item[data-status=new]")
    assert "Fourteen calendar days." in page.content()
    visited[page.url] = _overflow(page)

    shared = tmp_path / "shared-returns-policy.md"
    shared.write_text("# Returns\n\nReturned pallets are credited within 30 days of receipt.\n")
    page.goto(f"/portal/knowledge-bases/{kb.uuid}/")
    page.set_input_files("#portal-upload input[type=file]", str(shared))
    page.click("#portal-upload button[type=submit]")
    page.wait_for_selector(
        "#portal-documents .document-row[data-status=ready] >> text=shared-returns-policy.md", timeout=90_000
    )
    visited[page.url] = _overflow(page)

    for url in (
        "/portal/documents/",
        f"/portal/engagements/{engagement.uuid}/summary/",
        "/portal/prototypes/",
        f"/portal/clients/{engagement.client.uuid}/branding/",
    ):
        page.goto(url)
        page.wait_for_selector("#portal-brand")
        visited[url] = _overflow(page)

    pack_evidence(engagement, fde, prototype)
    pack = built_by_worker(engagement, fde)
    page.goto(f"/portal/review-packs/{pack.uuid}/")
    for section in ("evals", "roi", "latency"):
        page.wait_for_selector(f"#pack-{section} .pack-chart .main-svg")
    visited[page.url] = _overflow(page)
    assert not {url: px for url, px in visited.items() if px > 0}, "pages that scroll sideways on a phone"

    page.context.clear_cookies()
    login(page, outsider.email, PASSWORD)
    assert engagement.name not in page.content()
    for url in (
        f"/portal/engagements/{engagement.uuid}/",
        f"/portal/knowledge-bases/{kb.uuid}/",
        f"/portal/prototypes/{prototype.uuid}/",
        f"/portal/clients/{engagement.client.uuid}/logo/",
        f"/portal/review-packs/{pack.uuid}/",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 404, url
    page.goto("/portal/feedback/")
    assert "Fourteen calendar days." not in page.content()
    page.goto("/portal/documents/")
    assert kb.name not in page.content()
