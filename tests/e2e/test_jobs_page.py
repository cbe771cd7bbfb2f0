from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from engagements.models import Engagement
from jobs.models import JobStatus
from rag.models import IngestionBatch
from rag.services.knowledge_base import knowledge_base_create
from tests.conftest import PASSWORD
from tests.fixtures_services import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_fde_retries_a_failed_job_and_cancels_a_running_one_from_the_jobs_page(
    page: Any, fde: User, engagement: Engagement
) -> None:
    kb = knowledge_base_create(engagement=engagement, name="Jobs page library", actor=fde)
    # Rows as a worker leaves them; no task is sent, so a worker of the test session cannot change them under us.
    rows = {"knowledge_base": kb, "engagement": engagement, "started_by": fde, "total": 10}
    failed = IngestionBatch.objects.create(
        **rows, label="Sync of the share", status=JobStatus.FAILED, attempts=3, last_error="The folder is gone."
    )
    now = timezone.now()
    running = IngestionBatch.objects.create(
        **rows, label="Upload", status=JobStatus.RUNNING, attempts=1, progress=4, started_at=now, heartbeat_at=now
    )
    login(page, fde.email, PASSWORD)

    page.goto("/jobs/")
    failed_row, running_row = f"#job-ingestion-{failed.uuid}", f"#job-ingestion-{running.uuid}"
    assert "The folder is gone." in page.inner_text(failed_row)
    assert "4 / 10 documents" in page.inner_text(running_row)
    page.click(f"{failed_row} .job-retry")
    page.wait_for_selector(f"{failed_row}:not([data-job-status=failed])", state="attached")
    page.click(f"{running_row} .job-cancel")
    page.wait_for_selector(f"{running_row}:has-text('stopping after this step')", state="attached")

    failed.refresh_from_db()
    assert failed.status != JobStatus.FAILED and failed.last_error == "" and failed.attempts <= 1
    assert IngestionBatch.objects.get(pk=running.pk).cancel_requested
