from __future__ import annotations

from typing import Any

import pytest

from engagements.models import ReviewPack, SignOff
from engagements.services import criterion_create, gate_evaluate, stakeholder_create
from tests.conftest import PASSWORD
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_fde_builds_a_pack_and_the_client_admin_reads_it_and_signs_off_the_gate(
    page: Any, browser: Any, live_server: Any, fde: Any, client_admin: Any, roi_engagement: Any, celery_worker: Any
) -> None:
    engagement = roi_engagement
    stakeholder_create(engagement=engagement, actor=fde, name="Ada Admin", role="sponsor", email=client_admin.email)
    criterion = criterion_create(
        engagement=engagement, actor=fde, phase=engagement.phase, label="Sponsor approved the gate", kind="metric",
        provider_key="engagements.signoffs", threshold=1,
    )  # fmt: skip

    login(page, fde.email, PASSWORD)
    page.goto(f"/engagements/{engagement.uuid}/")
    page.click("#review-packs-link")
    page.click("#build-pack")
    page.wait_for_selector("[data-job-kind='review-pack']", state="attached")
    # The progress partial polls the job; when it succeeds the page reloads with the pack's links.
    page.wait_for_selector("[data-pack] a:text('Open')", timeout=120_000)
    pack = ReviewPack.objects.get(engagement=engagement)
    assert pack.status == "succeeded" and pack.pdf_pages

    client = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    client.set_default_timeout(15_000)
    portal = client.new_page()
    try:
        login(portal, client_admin.email, PASSWORD)
        portal.goto(f"/portal/engagements/{engagement.uuid}/")
        portal.click("#portal-review-packs a:text('Review and sign off')")
        portal.wait_for_selector("#pack-roi .pack-chart .main-svg")  # drawn from data-figure, without inline script
        assert "Exit criteria and their evidence" in portal.inner_text("#review-pack")
        pdf = portal.request.get(f"/portal/review-packs/{pack.uuid}/pdf/")
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"

        portal.fill("#signoff-comment", "Agreed: go ahead to the next phase.")
        portal.click("#signoff-approve")
        portal.wait_for_selector("#my-review[data-decision='approved']")
    finally:
        client.close()

    assert SignOff.objects.filter(engagement=engagement, phase=pack.phase, stakeholder__name="Ada Admin").exists()
    status = next(s for s in gate_evaluate(engagement=engagement) if s.criterion.pk == criterion.pk)
    assert status.passed
