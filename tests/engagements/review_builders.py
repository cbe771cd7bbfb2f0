"""Review packs for tests that are about what happens once a pack exists (sign-offs, pages, tenancy)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone
from pypdf import PdfWriter

from engagements.models import Engagement, ReviewPack
from engagements.review.services import review_pack_request


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def finished_pack(engagement: Engagement, actor: Any, *, phase: str | None = None) -> ReviewPack:
    """A pack requested through the service and marked built without a worker; its PDF a blank page."""
    pack = review_pack_request(engagement=engagement, actor=actor, phase=phase)
    pack.status, pack.finished_at, pack.progress = ReviewPack.Status.SUCCEEDED, timezone.now(), pack.total
    pack.content = {"engagement": engagement.name, "client": engagement.client.name, "phase": pack.get_phase_display(),
                    "version": pack.version, "built_at": timezone.now().isoformat(), "sections": []}  # fmt: skip
    pack.pdf.save(f"{pack.uuid}.pdf", ContentFile(blank_pdf()), save=False)
    pack.save()
    return pack
