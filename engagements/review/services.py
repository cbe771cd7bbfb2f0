"""Gate review packs: requesting one, building it in the worker (sections, then the PDF), telling the stakeholders,
and recording their answers as sign-offs on the gate.

A pack is a job row: ``review_pack_request`` writes it and enqueues the task on commit; the task claims it, builds
the sections one by one (each a heartbeat with progress and the step's name, where a cancel is noticed), prints
the PDF and e-mails the stakeholders. Every step can run again, so a redelivered task simply rebuilds the pack.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Max, Q
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

logger = logging.getLogger(__name__)
EXTRA_STEPS = 2  # after the sections: printing the PDF, e-mailing the stakeholders


def _fde_url(pack: ReviewPack) -> str:
    return reverse("engagements:review_pack", kwargs={"uuid": pack.engagement.uuid, "item": pack.uuid})


def portal_url(pack: ReviewPack) -> str:
    return reverse("portal:review_pack", kwargs={"uuid": pack.uuid})


@transaction.atomic
def review_pack_request(*, engagement: Engagement, actor: Any, phase: str | None = None) -> ReviewPack:
    """Queue the next version of the gate's review pack; the worker builds it once this commits."""
    from engagements.review.tasks import build_review_pack

    require_editor(engagement, actor)
    phase = phase or engagement.phase
    if phase not in Phase.values:
        raise ValidationError(f"“{phase}” is not a phase; choose one of {', '.join(Phase.values)}.")
    # Lock the engagement so two clicks at once cannot both take the same version number.
    Engagement.objects.select_for_update().filter(pk=engagement.pk).first()
    if engagement.review_packs.filter(
        phase=phase, status__in=[ReviewPack.Status.QUEUED, ReviewPack.Status.RUNNING]
    ).exists():
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
    build_review_pack.delay_on_commit(pack_id=pack.pk)
    return pack


def review_pack_claim(*, pack_id: int) -> bool:
    """Take a queued pack, or a running one whose worker stopped beating its heart."""
    now = timezone.now()
    stale = now - ReviewPack.stale_after
    claimable = Q(status=ReviewPack.Status.QUEUED) | Q(status=ReviewPack.Status.RUNNING, heartbeat_at__lt=stale)
    claimed = ReviewPack.objects.filter(claimable, pk=pack_id, cancel_requested=False).update(
        status=ReviewPack.Status.RUNNING, started_at=now, heartbeat_at=now, last_error="", current_step="Starting"
    )
    return claimed == 1


def review_pack_heartbeat(*, pack: ReviewPack, progress: int, step: str) -> bool:
    """Record progress and the step under way; False once someone asked to cancel."""
    ReviewPack.objects.filter(pk=pack.pk).update(
        progress=progress, current_step=step[:200], heartbeat_at=timezone.now()
    )
    return not ReviewPack.objects.filter(pk=pack.pk, cancel_requested=True).exists()


def _cancelled(pack: ReviewPack) -> ReviewPack:
    ReviewPack.objects.filter(pk=pack.pk).update(
        status=ReviewPack.Status.CANCELLED, finished_at=timezone.now(), current_step="Cancelled"
    )
    pack.refresh_from_db()
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


def review_pack_build(*, pack_id: int) -> ReviewPack:
    """Build every registered section, print the PDF and tell the stakeholders; the task has claimed the pack."""
    pack = ReviewPack.objects.select_related("engagement__client").get(pk=pack_id)
    ReviewPack.objects.filter(pk=pack.pk).update(attempts=pack.attempts + 1)
    sections = all_sections()
    total = len(sections) + EXTRA_STEPS
    ReviewPack.objects.filter(pk=pack.pk).update(total=total)
    ctx = PackContext(engagement=pack.engagement, phase=pack.phase, now=timezone.now())
    built = []
    for index, section in enumerate(sections):
        if not review_pack_heartbeat(pack=pack, progress=index, step=section.title):
            return _cancelled(pack)
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
    if not review_pack_heartbeat(pack=pack, progress=len(sections), step="Printing the PDF"):
        return _cancelled(pack)
    document = pdf.print_pdf(review_pack_document_html(pack=pack, for_print=True), title=str(pack))
    pack.pdf.save(f"{pack.uuid}.pdf", ContentFile(document), save=False)
    pack.pdf_pages = _page_count(document)
    pack.save(update_fields=["pdf", "pdf_pages"])
    review_pack_heartbeat(pack=pack, progress=len(sections) + 1, step="E-mailing the stakeholders")
    return review_pack_finish(pack=pack)


def _page_count(document: bytes) -> int:
    from io import BytesIO

    from pypdf import PdfReader

    return len(PdfReader(BytesIO(document)).pages)


@transaction.atomic
def review_pack_finish(*, pack: ReviewPack) -> ReviewPack:
    now = timezone.now()
    pack.status, pack.finished_at, pack.progress, pack.current_step = ReviewPack.Status.DONE, now, pack.total, "Ready"
    pack.save(update_fields=["status", "finished_at", "progress", "current_step"])
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


def review_pack_fail(*, pack_id: int, error: str) -> None:
    ReviewPack.objects.filter(pk=pack_id).update(
        status=ReviewPack.Status.FAILED, last_error=error[:2000], finished_at=timezone.now(), current_step="Failed"
    )


@transaction.atomic
def review_pack_cancel(*, pack: ReviewPack, actor: Any) -> ReviewPack:
    """Ask the worker to stop; a pack nobody has started yet is cancelled at once."""
    require_editor(pack.engagement, actor)
    if not pack.is_active:
        raise ValidationError("Only a pack that is being built can be cancelled.")
    ReviewPack.objects.filter(pk=pack.pk).update(cancel_requested=True)
    ReviewPack.objects.filter(pk=pack.pk, status=ReviewPack.Status.QUEUED).update(
        status=ReviewPack.Status.CANCELLED, finished_at=timezone.now(), current_step="Cancelled"
    )
    pack.refresh_from_db()
    return pack


@transaction.atomic
def review_pack_retry(*, pack: ReviewPack, actor: Any) -> ReviewPack:
    from engagements.review.tasks import build_review_pack

    require_editor(pack.engagement, actor)
    if pack.status not in {ReviewPack.Status.FAILED, ReviewPack.Status.CANCELLED}:
        raise ValidationError("Only a failed or cancelled pack can be built again.")
    ReviewPack.objects.filter(pk=pack.pk).update(
        status=ReviewPack.Status.QUEUED,
        cancel_requested=False,
        progress=0,
        last_error="",
        current_step="",
        finished_at=None,
    )
    build_review_pack.delay_on_commit(pack_id=pack.pk)
    pack.refresh_from_db()
    return pack


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
