from __future__ import annotations

import shutil
from typing import Any

import pytest
from django.conf import settings

from accounts.models import User
from engagements.models import Engagement
from rag.models import KnowledgeBase
from tests.conftest import PASSWORD
from tests.fixtures_services import login
from tests.rag import files

pytestmark = [pytest.mark.e2e, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_fde_creates_a_base_uploads_files_inspects_chunks_and_searches(
    page: Any, celery_worker: Any, fde: User, engagement: Engagement
) -> None:
    login(page, fde.email, PASSWORD)
    page.goto("/rag/")
    page.get_by_role("button", name="New knowledge base").click()
    page.select_option("select[name=engagement]", str(engagement.pk))
    page.fill("input[name=name]", "Claims policies")
    page.get_by_role("button", name="Create").click()
    page.wait_for_selector("h1:text('Claims policies')")
    kb = KnowledgeBase.objects.get(name="Claims policies")
    try:
        page.set_input_files(
            "#upload-files",
            files=[
                {"name": "damage.md", "mimeType": "text/markdown", "buffer": files.POLICY_MD.encode()},
                {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""},
                {
                    "name": "more.zip",
                    "mimeType": "application/zip",
                    "buffer": files.make_zip({"rates.csv": b"carrier,sla\nNordFreight,5 days\n"}),
                },
            ],
        )
        page.get_by_role("button", name="Upload").click()
        page.wait_for_selector("#upload-progress:not(.d-none)")
        page.wait_for_selector("#batch-status [data-job-status=succeeded]", timeout=60_000)
        assert "3 / 3 documents" in page.inner_text("#batch-status .job-count")
        page.wait_for_selector("#documents .doc-error:text('The file is empty')")
        assert page.locator("#documents tbody tr").count() == 3
        # Retrying an empty file would fail the same way: the row says what helps instead of offering Retry.
        assert page.get_by_role("button", name="Retry").count() == 0
        assert page.locator("#documents .no-retry").count() == 1

        page.get_by_role("link", name="damage.md").click()
        page.wait_for_selector(".chunk-card")
        assert "Damage claims policy › Refunds" in page.content()
        page.locator("#chunk-0 .chunk-toggle").click()
        page.wait_for_selector("#chunk-0 .badge:text('disabled')")

        page.goto(f"/rag/kb/{kb.uuid}/playground/")
        page.fill("input[name=query]", "how are refunds paid")
        page.get_by_role("button", name="Search").click()
        page.wait_for_selector("#results-table tbody tr")
        first_row = page.locator("#results-table tbody tr").first.inner_text()
        assert "damage.md" in first_row and "Refunds" in first_row
        assert "embedding" in page.locator("#results").inner_text().lower()
    finally:
        shutil.rmtree(settings.MEDIA_ROOT / "rag" / "documents" / str(kb.uuid), ignore_errors=True)
