from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from accounts import seed as accounts_seed
from engagements import seed as engagements_seed
from engagements.models import ReviewPack
from engagements.review import seed as review_seed
from engagements.review.selectors import stakeholder_for_user
from engagements.review.services import review_pack_execute

pytestmark = pytest.mark.django_db


def _seed() -> dict[str, Any]:
    data: dict[str, Any] = accounts_seed.seed()
    data.update(engagements_seed.seed(data))
    data.update(review_seed.seed(data))
    return data


def test_the_demo_queues_its_gate_review_pack_once_and_the_client_admin_can_sign_it_off() -> None:
    data = _seed()
    demo, admin = data["demo_engagement"], data["client_admin"]
    assert stakeholder_for_user(engagement=demo, user=admin) is not None
    assert data["demo_review_pack"].status == "queued" and data["demo_review_pack"].phase == demo.phase
    review_seed.seed(data)
    assert ReviewPack.objects.filter(engagement=demo).count() == 1


def test_the_demo_pack_builds_with_its_roi_scenarios_in_the_pdf() -> None:
    pack = _seed()["demo_review_pack"]
    pack = review_pack_execute(pack_id=pack.pk)
    assert pack is not None and pack.status == "succeeded", pack and pack.last_error
    with pack.pdf.open("rb") as handle:
        reader = PdfReader(BytesIO(handle.read()))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert pack.pdf_pages == len(reader.pages) >= 2
    for scenario in ("Conservative", "Expected", "Optimistic"):
        assert scenario in text
    keys = [section["key"] for section in pack.content["sections"]]
    assert keys[:2] == ["criteria", "evals"] and "roi" in keys and keys[-1] == "signoffs"
