"""Gate review packs: requesting one, building it in the worker (sections, then the PDF), telling the stakeholders,
and recording their answers as sign-offs on the gate.

A pack is a job (the shared ``jobs`` mechanism): ``review_pack_request`` writes the row and enqueues the task on
commit; the task claims it, builds the sections one by one (each a heartbeat with progress and the step's name,
where a cancel is noticed), prints the PDF and e-mails the stakeholders. Cancel and retry are the jobs app's.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from engagements.models import Engagement, GateReview, Phase, ReviewPack, SignOff
from engagements.review import pdf
from engagements.review.sections import PackContext, all_sections
from engagements.review.selectors import review_pack_latest, stakeholder_for_user
from engagements.services._common import require_editor
from engagements.services.activity import activity_record
from engagements.services.gates import gate_evaluate
from jobs import services as jobs
from jobs.models import ACTIVE_STATUSES

logger = logging.getLogger(__name__)
EXTRA_STEPS = 2  # after the sections: printing the PDF, e-mailing the stakeholders


def _fde_url(pack: ReviewPack) -> str:
    return reverse("engagements:review_pack", kwargs={"uuid": pack.engagement.uuid, "item": pack.uuid})


def portal_url(pack: ReviewPack) -> str:
    return reverse("portal:review_pack", kwargs={"uuid": pack.uuid})


@transaction.atomic
def review_pack_request(*, engagement: Engagement, actor: Any, phase: str | None = None) -> ReviewPack:
    """Queue the next version of the gate's review pack; the worker builds it once this commits."""
    require_editor(engagement, actor)
    phase = phase or engagement.phase
    if phase not in Phase.values:
        raise ValidationError(f"“{phase}” is not a phase; choose one of {', '.join(Phase.values)}.")
    # Lock the engagement so two clicks at once cannot both take the same version number.
    Engagement.objects.select_for_update().filter(pk=engagement.pk).first()
    if engagement.review_packs.filter(phase=phase, status__in=ACTIVE_STATUSES).exists():
        raise ValidationError("A review pack of this gate is already being built; wait for it or cancel it.")
    last = engagement.review_packs.filter(phase=phase).aggregate(v=Max("version"))["v"] or 0
    pack = ReviewPack(
        engagement=engagement, phase=phase, version=last + 1, started_by=actor, total=len(all_sections()) + EXTRA_STEPS
    )
    pack.full_clean()
    pack.save()
    activity_record(
        engagement=engagement,
        actor=actor,
        verb=f"started building the {pack.get_phase_display()} gate review pack",
        target=f"v{pack.version}",
        url=_fde_url(pack),
        client_visible=False,
    )
    jobs.enqueue(pack)
    return pack


def review_pack_document_html(*, pack: ReviewPack, for_print: bool) -> str:
    """The pack as one HTML page: printed to PDF by the worker, and the same body the site shows."""
    context = {"pack": pack, "content": pack.content, "for_print": for_print}
    if for_print:
        context["assets"] = {
            "bootstrap": pdf.static_uri("vendor/bootstrap/css/bootstrap.min.css"),
            "css": pdf.static_uri("css/review_pack.css"),
            "plotly": pdf.static_uri("vendor/plotly/plotly.min.js"),
            "js": pdf.static_uri("js/review_pack.js"),
        }
    return render_to_string("engagements/review/document.html", context)


def review_pack_execute(*, pack_id: int) -> ReviewPack | None:
    """Claim and build a queued pack in this process: what the Celery task runs."""
    return jobs.execute(ReviewPack, pack_id, review_pack_work)


def review_pack_work(pack: ReviewPack) -> None:
    """Build every registered section, print the PDF and tell the stakeholders; stops at a step when cancelled.

    Every step builds from scratch, so a pack whose worker was lost is simply built again on its next claim.
    """
    sections = all_sections()
    total = len(sections) + EXTRA_STEPS
    ctx = PackContext(engagement=pack.engagement, phase=pack.phase, now=timezone.now())
    built = []
    for index, section in enumerate(sections):
        if not jobs.heartbeat(pack, progress=index, total=total, step=section.title):
            return
        data = section.fn(ctx)
        if data is not None:
            built.append({"key": section.key, "title": section.title, "template": section.template, "data": data})
    engagement = pack.engagement
    pack.content = {
        "engagement": engagement.name,
        "client": engagement.client.name,
        "phase": pack.get_phase_display(),
        "version": pack.version,
        "built_at": ctx.now,
        "currency": engagement.currency,
        "sections": built,
    }
    pack.save(update_fields=["content"])
    pack.refresh_from_db()  # the content as stored (dates as strings), exactly what the page will show later
    if not jobs.heartbeat(pack, progress=len(sections), step="Printing the PDF"):
        return
    try:
        document = pdf.print_pdf(review_pack_document_html(pack=pack, for_print=True), title=str(pack))
    except pdf.PdfError as exc:
        jobs.fail(pack, str(exc))
        return
    pack.pdf.save(f"{pack.uuid}.pdf", ContentFile(document), save=False)
    pack.pdf_pages = _page_count(document)
    pack.save(update_fields=["pdf", "pdf_pages"])
    if jobs.heartbeat(pack, progress=len(sections) + 1, step="Sharing with the stakeholders"):
        review_pack_finish(pack=pack)


def _page_count(document: bytes) -> int:
    from io import BytesIO

    from pypdf import PdfReader

    return len(PdfReader(BytesIO(document)).pages)


@transaction.atomic
def review_pack_finish(*, pack: ReviewPack) -> ReviewPack:
    """Mark the pack built, tell the engagement's feed, and e-mail the stakeholders once that is committed."""
    ReviewPack.objects.filter(pk=pack.pk).update(progress=F("total"))
    jobs.finish(pack)
    if not pack.is_done:
        return pack  # cancelled at the last moment
    activity_record(
        engagement=pack.engagement,
        actor=pack.started_by,
        verb=f"shared the {pack.get_phase_display()} gate review pack",
        target=f"v{pack.version}",
        url=_fde_url(pack),
    )
    transaction.on_commit(lambda: review_pack_notify(pack=pack))
    return pack


def review_pack_notify(*, pack: ReviewPack) -> int:
    """E-mail each stakeholder who has not signed off this gate that the pack awaits them; the count sent.

    One message per person (nobody sees the others' addresses). A mail server that refuses leaves the pack ready
    and says so on it, rather than failing the pack.
    """
    signed = SignOff.objects.filter(engagement=pack.engagement, phase=pack.phase).values("stakeholder_id")
    stakeholders = list(pack.engagement.stakeholders.exclude(email="").exclude(pk__in=signed))
    link = settings.SITE_URL.rstrip("/") + portal_url(pack) if settings.SITE_URL else portal_url(pack)
    messages = [
        EmailMessage(
            subject=f"{pack.engagement.name}: the {pack.get_phase_display()} gate review pack awaits your sign-off",
            body=render_to_string(
                "engagements/review/email_awaiting.txt", {"pack": pack, "stakeholder": s, "link": link}
            ),
            to=[s.email],
        )
        for s in stakeholders
    ]
    if not messages:
        return 0
    try:
        sent = get_connection(fail_silently=False).send_messages(messages) or 0
    except Exception as exc:  # SMTP errors come in many classes; the pack itself is fine either way
        logger.exception("e-mailing the stakeholders of review pack %s failed", pack.pk)
        ReviewPack.objects.filter(pk=pack.pk).update(
            last_error=f"The pack is ready, but e-mailing the stakeholders failed: {exc}. Check EMAIL_URL."
        )
        return 0
    ReviewPack.objects.filter(pk=pack.pk).update(notified_at=timezone.now())
    return sent


@transaction.atomic
def gate_review_record(*, pack: ReviewPack, user: Any, decision: str, comment: str = "") -> GateReview:
    """A client stakeholder approves the gate or asks for changes; approval is their sign-off of the phase.

    The sign-off is the same record an FDE enters by hand, so the gate's ``engagements.signoffs`` criterion counts
    it. Asking for changes withdraws the stakeholder's earlier sign-off of that gate.
    """
    engagement = pack.engagement
    stakeholder = stakeholder_for_user(engagement=engagement, user=user)
    if stakeholder is None:
        raise PermissionDenied(
            "Only the engagement's stakeholders sign off its gates, and your e-mail address is not one of theirs. "
            "Ask your FDE to add you as a stakeholder with this address."
        )
    if engagement.is_archived:
        raise ValidationError("This engagement is archived; its gates can no longer be signed off.")
    latest = review_pack_latest(engagement=engagement, phase=pack.phase)
    if latest != pack:
        newer = f"v{latest.version}" if latest else "a newer one"
        raise ValidationError(f"A newer version of this pack exists ({newer}); open it and sign off that one.")
    review = GateReview(pack=pack, stakeholder=stakeholder, user=user, decision=decision, comment=comment.strip())
    review.full_clean()
    review.save()
    phase_label = pack.get_phase_display()
    if decision == GateReview.Decision.APPROVED:
        SignOff.objects.get_or_create(
            stakeholder=stakeholder, phase=pack.phase, defaults={"engagement": engagement, "recorded_by": user}
        )
        verb = f"approved the {phase_label} gate in review pack"
    else:
        SignOff.objects.filter(stakeholder=stakeholder, phase=pack.phase).delete()
        verb = f"asked for changes to the {phase_label} gate in review pack"
    activity_record(engagement=engagement, actor=user, verb=verb, target=f"v{pack.version}", url=_fde_url(pack))
    gate_evaluate(engagement=engagement, phase=pack.phase)  # the board and portal show the new count at once
    return review
