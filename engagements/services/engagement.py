"""Everything one can do to an engagement itself: create, edit, staff, archive, and move it between phases."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Client
from engagements.models import Assignment, Engagement, Phase, PhaseTransition
from engagements.selectors import engagement_user_is_lead
from engagements.services._common import require_editor
from engagements.services.activity import activity_record
from engagements.services.gates import CriterionStatus, gate_criteria_from_templates, gate_evaluate
from engagements.services.kpis import kpi_measure_from_provider

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = {
    "name",
    "problem_statement",
    "business_objective",
    "success_criteria",
    "start_date",
    "target_date",
    "health",
    "health_reason",
    "currency",
}


class GateBlocked(ValidationError):
    """Advancing was refused because criteria fail; ``failing`` holds them for the gate panel."""

    def __init__(self, failing: list[CriterionStatus]) -> None:
        self.failing = failing
        names = "; ".join(s.criterion.label for s in failing)
        super().__init__(
            f"The gate is not met: {names}. Satisfy these criteria, or ask an engagement lead to override "
            "with a written reason."
        )


def _clean_engagement(engagement: Engagement) -> None:
    if engagement.health != Engagement.Health.ON_TRACK and not engagement.health_reason.strip():
        raise ValidationError({"health_reason": "Say why the engagement is at risk or off track."})
    engagement.full_clean()


@transaction.atomic
def engagement_create(
    *,
    client: Client,
    name: str,
    problem_statement: str = "",
    lead: Any = None,
    actor: Any = None,
    business_objective: str = "",
    success_criteria: str = "",
    start_date: dt.date | None = None,
    target_date: dt.date | None = None,
    health: str = Engagement.Health.ON_TRACK,
    health_reason: str = "",
    currency: str = "USD",
) -> Engagement:
    """Create an engagement in Discover with its own copy of the default gate criteria."""
    engagement = Engagement(
        client=client,
        name=name,
        problem_statement=problem_statement,
        business_objective=business_objective,
        success_criteria=success_criteria,
        start_date=start_date,
        target_date=target_date,
        health=health,
        health_reason=health_reason,
        currency=currency,
    )
    _clean_engagement(engagement)
    engagement.save()
    gate_criteria_from_templates(engagement=engagement)
    if lead is not None:
        engagement_assign(engagement=engagement, user=lead, role=Assignment.Role.LEAD)
    activity_record(engagement=engagement, actor=actor or lead, verb="created the engagement", target=name)
    return engagement


@transaction.atomic
def engagement_update(*, engagement: Engagement, actor: Any, **fields: Any) -> Engagement:
    require_editor(engagement, actor)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    # Read from the database: a bound ModelForm has already copied the new values onto this instance.
    health_before = Engagement.objects.values_list("health", flat=True).get(pk=engagement.pk)
    for name, value in fields.items():
        setattr(engagement, name, value)
    _clean_engagement(engagement)
    engagement.save()
    if engagement.health != health_before:
        verb = f"set health to {engagement.get_health_display().lower()} on"
        activity_record(engagement=engagement, actor=actor, verb=verb, target=engagement.name)
    else:
        activity_record(engagement=engagement, actor=actor, verb="edited", target=engagement.name)
    return engagement


@transaction.atomic
def engagement_archive(*, engagement: Engagement, actor: Any, archived: bool = True) -> Engagement:
    """Archive (or restore) an engagement: it leaves the board but keeps its whole history."""
    if not engagement_user_is_lead(engagement=engagement, user=actor):
        raise PermissionDenied("Only an engagement lead can archive or restore it.")
    engagement.archived_at = timezone.now() if archived else None
    engagement.save(update_fields=["archived_at", "updated_at"])
    verb = "archived" if archived else "restored"
    activity_record(engagement=engagement, actor=actor, verb=verb, target=engagement.name, client_visible=False)
    return engagement


@transaction.atomic
def engagement_assign(*, engagement: Engagement, user: Any, role: str = Assignment.Role.ENGINEER) -> Assignment:
    if not getattr(user, "is_provider", False):
        raise ValidationError({"user": "Only provider staff (FDEs) can be assigned to an engagement."})
    if role not in Assignment.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; use one of {', '.join(Assignment.Role.values)}."})
    assignment, _ = Assignment.objects.update_or_create(engagement=engagement, user=user, defaults={"role": role})
    return assignment


@transaction.atomic
def engagement_unassign(*, engagement: Engagement, actor: Any, user: Any) -> None:
    require_editor(engagement, actor)
    assignments = Assignment.objects.filter(engagement=engagement)
    if not assignments.exclude(user=user).filter(role=Assignment.Role.LEAD).exists():
        raise ValidationError("An engagement needs at least one lead; make someone else lead first.")
    assignments.filter(user=user).delete()
    activity_record(engagement=engagement, actor=actor, verb="removed from the team:", target=str(user))


def _lock(engagement: Engagement, expected_phase: str | None) -> Engagement:
    locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if expected_phase and locked.phase != expected_phase:
        raise ValidationError(
            f"This page is out of date: the engagement is now in {locked.get_phase_display()}, not "
            f"{Phase(expected_phase).label}. Reload the page and check the gate again."
        )
    return locked


def _move(
    engagement: Engagement,
    *,
    to_phase: str,
    actor: Any,
    note: str,
    snapshot: list[dict[str, Any]],
    backward: bool = False,
    override_reason: str = "",
) -> PhaseTransition:
    now = timezone.now()
    transition = PhaseTransition.objects.create(
        engagement=engagement,
        from_phase=engagement.phase,
        to_phase=to_phase,
        actor=actor,
        note=note,
        is_backward=backward,
        override_reason=override_reason,
        snapshot=snapshot,
        created_at=now,
    )
    engagement.phase, engagement.phase_entered_at = to_phase, now
    engagement.save(update_fields=["phase", "phase_entered_at", "updated_at"])
    verb = "moved the engagement back to" if backward else "advanced the engagement to"
    target = Phase(to_phase).label + (" (gate overridden)" if override_reason else "")
    url = reverse("engagements:detail", kwargs={"uuid": engagement.uuid})
    activity_record(engagement=engagement, actor=actor, verb=verb, target=target, url=url)
    return transition


@transaction.atomic
def engagement_advance_phase(
    *,
    engagement: Engagement,
    actor: Any,
    note: str = "",
    expected_phase: str | None = None,
    override_reason: str = "",
) -> PhaseTransition:
    """Move to the next phase if every exit criterion of the current one passes.

    A lead may advance past failing criteria with a written ``override_reason``. ``expected_phase`` is the phase
    the actor's page showed; if someone moved the engagement meanwhile the request is refused as stale.
    """
    require_editor(engagement, actor)
    locked = _lock(engagement, expected_phase)
    to_phase = Phase.after(locked.phase)
    if to_phase is None:
        raise ValidationError("Iterate is the last phase; to start another round, move back to Prototype or Validate.")
    statuses = gate_evaluate(engagement=locked)
    failing = [s for s in statuses if not s.passed]
    override_reason = override_reason.strip()
    if failing and not override_reason:
        raise GateBlocked(failing)
    if failing and not engagement_user_is_lead(engagement=locked, user=actor):
        raise PermissionDenied("Only an engagement lead can override a failing gate.")
    transition = _move(
        locked,
        to_phase=to_phase,
        actor=actor,
        note=note.strip(),
        snapshot=[s.snapshot() for s in statuses],
        override_reason=override_reason if failing else "",
    )
    engagement.refresh_from_db()
    return transition


@transaction.atomic
def engagement_return_to_phase(
    *, engagement: Engagement, actor: Any, to_phase: str, reason: str, expected_phase: str | None = None
) -> PhaseTransition:
    """Go back to an earlier phase (e.g. Iterate loops back to Prototype or Validate); a reason is required."""
    require_editor(engagement, actor)
    locked = _lock(engagement, expected_phase)
    if to_phase not in Phase.values or Phase.position_of(to_phase) >= Phase.position_of(locked.phase):
        raise ValidationError({"to_phase": f"Choose a phase before {locked.get_phase_display()} to go back to."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the engagement goes back; the reason is kept on the timeline."})
    statuses = gate_evaluate(engagement=locked)
    transition = _move(
        locked,
        to_phase=to_phase,
        actor=actor,
        note=reason.strip(),
        snapshot=[s.snapshot() for s in statuses],
        backward=True,
    )
    engagement.refresh_from_db()
    return transition


def engagement_refresh_evidence(*, engagement: Engagement) -> dict[str, int]:
    """Re-evaluate the current gate and take today's value of every provider-backed KPI.

    Run periodically so the board's gate progress and KPI trends follow evidence produced elsewhere (documents
    ingested, eval runs, benchmarks). Re-running it on the same day changes nothing new.
    """
    statuses = gate_evaluate(engagement=engagement)
    measured = 0
    for kpi in engagement.kpis.exclude(provider_key=""):
        try:
            kpi_measure_from_provider(kpi=kpi)
            measured += 1
        except Exception:  # one KPI's provider failing must not stop the others
            logger.warning("could not measure KPI %s of engagement %s", kpi.pk, engagement.pk, exc_info=True)
    return {"criteria": len(statuses), "met": sum(s.passed for s in statuses), "kpis_measured": measured}
