"""Stakeholders and their sign-offs, requirements, risks and decisions kept on an engagement."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from engagements.models import Decision, Engagement, GateCriterion, Requirement, Risk, SignOff, Stakeholder
from engagements.services._common import require_editor
from engagements.services.activity import activity_record

M = TypeVar("M", bound=models.Model)
R = TypeVar("R", Requirement, Risk)


def _save_new(obj: M, *, engagement: Engagement, actor: Any, verb: str, target: str) -> M:
    require_editor(engagement, actor)
    obj.full_clean()
    obj.save()
    # A record the client may not see stays out of the client's feed too.
    shown = getattr(obj, "visible_to_client", True)
    activity_record(engagement=engagement, actor=actor, verb=verb, target=target, client_visible=shown)
    return obj


def _set_status(record: R, *, actor: Any, status: str, verb: str) -> R:
    require_editor(record.engagement, actor)
    record.status = status
    record.full_clean()
    record.save(update_fields=["status"])
    label = verb.format(status=record.get_status_display().lower())
    shown = record.visible_to_client
    activity_record(engagement=record.engagement, actor=actor, verb=label, target=record.title, client_visible=shown)
    return record


@transaction.atomic
def stakeholder_create(
    *,
    engagement: Engagement,
    actor: Any,
    name: str,
    role: str,
    title: str = "",
    email: str = "",
    influence: int = Stakeholder.Level.MEDIUM,
    interest: int = Stakeholder.Level.MEDIUM,
) -> Stakeholder:
    stakeholder = Stakeholder(
        engagement=engagement, name=name, role=role, title=title, email=email, influence=influence, interest=interest
    )
    return _save_new(stakeholder, engagement=engagement, actor=actor, verb="added the stakeholder", target=name)


@transaction.atomic
def signoff_record(*, stakeholder: Stakeholder, actor: Any, phase: str | None = None) -> SignOff:
    """Record that ``stakeholder`` signed off on a phase (default: the engagement's current phase)."""
    engagement = stakeholder.engagement
    phase = phase or engagement.phase
    if SignOff.objects.filter(stakeholder=stakeholder, phase=phase).exists():
        raise ValidationError(f"{stakeholder.name} has already signed off on this phase.")
    signoff = SignOff(engagement=engagement, stakeholder=stakeholder, phase=phase, recorded_by=actor)
    verb = f"recorded a {signoff.get_phase_display()} sign-off from"
    return _save_new(signoff, engagement=engagement, actor=actor, verb=verb, target=stakeholder.name)


@transaction.atomic
def requirement_create(
    *,
    engagement: Engagement,
    actor: Any,
    title: str,
    priority: str = Requirement.Priority.SHOULD,
    status: str = Requirement.Status.PROPOSED,
    description: str = "",
    acceptance_criteria: str = "",
    visible_to_client: bool = False,
) -> Requirement:
    requirement = Requirement(
        engagement=engagement,
        visible_to_client=visible_to_client,
        title=title,
        priority=priority,
        status=status,
        description=description,
        acceptance_criteria=acceptance_criteria,
    )
    return _save_new(requirement, engagement=engagement, actor=actor, verb="added the requirement", target=title)


@transaction.atomic
def requirement_set_status(*, requirement: Requirement, actor: Any, status: str) -> Requirement:
    return _set_status(requirement, actor=actor, status=status, verb="marked {status}:")


@transaction.atomic
def risk_create(
    *,
    engagement: Engagement,
    actor: Any,
    title: str,
    likelihood: int,
    impact: int,
    description: str = "",
    owner: str = "",
    mitigation: str = "",
    status: str = Risk.Status.OPEN,
    visible_to_client: bool = False,
) -> Risk:
    risk = Risk(
        engagement=engagement,
        visible_to_client=visible_to_client,
        title=title,
        likelihood=likelihood,
        impact=impact,
        description=description,
        owner=owner,
        mitigation=mitigation,
        status=status,
    )
    return _save_new(risk, engagement=engagement, actor=actor, verb="logged the risk", target=title)


@transaction.atomic
def risk_set_status(*, risk: Risk, actor: Any, status: str) -> Risk:
    return _set_status(risk, actor=actor, status=status, verb="set risk status to {status}:")


@transaction.atomic
def decision_create(
    *,
    engagement: Engagement,
    actor: Any,
    title: str,
    decision: str,
    context: str = "",
    consequences: str = "",
    decided_on: dt.date | None = None,
    visible_to_client: bool = False,
) -> Decision:
    row = Decision(
        engagement=engagement,
        title=title,
        decision=decision,
        context=context,
        consequences=consequences,
        visible_to_client=visible_to_client,
    )
    if decided_on is not None:
        row.decided_on = decided_on
    return _save_new(row, engagement=engagement, actor=actor, verb="logged the decision", target=title)


@transaction.atomic
def record_delete(*, record: Stakeholder | Requirement | Risk | Decision, actor: Any) -> None:
    """Delete a stakeholder, requirement, risk or decision; the feed keeps a line saying so."""
    engagement = record.engagement
    require_editor(engagement, actor)
    kind = record._meta.verbose_name
    shown = getattr(record, "visible_to_client", True)
    activity_record(
        engagement=engagement, actor=actor, verb=f"deleted the {kind}", target=str(record), client_visible=shown
    )
    record.delete()


@transaction.atomic
def record_set_client_visibility(
    *, record: Requirement | Risk | Decision | GateCriterion, actor: Any, visible: bool
) -> Requirement | Risk | Decision | GateCriterion:
    """Show a requirement, risk, decision or gate criterion in the client portal, or hide it again.

    The feed line stays internal: hiding a record must not announce it to the client.
    """
    require_editor(record.engagement, actor)
    record.visible_to_client = visible
    record.save(update_fields=["visible_to_client"])
    name = str(record)
    verb = "showed the client" if visible else "hid from the client"
    activity_record(engagement=record.engagement, actor=actor, verb=verb, target=name, client_visible=False)
    return record
