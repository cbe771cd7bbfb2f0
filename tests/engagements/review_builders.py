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


def pack_evidence(engagement: Engagement, actor: Any, prototype: Any = None) -> None:
    """What the scorecard and the latency sections chart: a finished eval run of a prototype (a new one unless given)
    with scored cases, and gateway calls of the last week against an SLA that one target misses."""
    from datetime import timedelta

    from deployments.services import deployment_save
    from rag.services.knowledge_base import knowledge_base_create
    from tests.deployments.call_builders import logged_calls
    from tests.rag.prototype_builders import make_prototype, scored_eval_run

    served = deployment_save(name="Claims GPU", base_url="http://127.0.0.1:9/v1", served_model_name="claims-8b",
                             engagement=engagement, sla_ttft_p95_ms=400, sla_e2e_p95_ms=1500)  # fmt: skip
    if prototype is None:
        prototype = make_prototype(knowledge_base_create(engagement=engagement, name="Policies", actor=actor), served)
    scored_eval_run(prototype, {f"case-{i}": {"hit": i % 2, "f1": i / 10, "total_ms": 800.0 + i} for i in range(8)})
    logged_calls(served, at=timezone.now() - timedelta(hours=2), ttft_ms=[150, 250, 450], total_ms=[900, 1200, 1900])


def built_by_worker(engagement: Engagement, actor: Any) -> ReviewPack:
    """A pack requested through the service and built by the running worker, PDF and all."""
    from tests.fixtures_services import wait_for

    pack = review_pack_request(engagement=engagement, actor=actor)
    pack = wait_for(
        lambda: ReviewPack.objects.filter(pk=pack.pk, status__in=["succeeded", "failed"]).first(),
        timeout=120,
        message="the pack to be built",
    )
    assert pack.status == "succeeded", pack.last_error
    return pack
