"""Gate criteria: creating and editing them, ticking checklist items, and evaluating a phase's gate."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from engagements.gate_templates import DEFAULT_CRITERIA
from engagements.metrics import MetricResult, get_provider
from engagements.models import Engagement, GateCriterion, Phase
from engagements.services._common import require_editor
from engagements.services.activity import activity_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CriterionStatus:
    """A criterion with its value right now: what the gate panel shows and what a transition snapshots."""

    criterion: GateCriterion
    value: float | None
    passed: bool
    detail: str = ""
    source_url: str = ""
    error: str = ""

    def snapshot(self) -> dict[str, Any]:
        c = self.criterion
        return {
            "label": c.label,
            "kind": c.kind,
            "provider_key": c.provider_key,
            "comparison": c.get_comparison_display() if not c.is_checklist else "",
            "threshold": c.threshold,
            "value": self.value,
            "passed": self.passed,
            "detail": self.detail,
            "error": self.error,
        }


def _evaluate_metric(criterion: GateCriterion, engagement: Engagement) -> CriterionStatus:
    provider = get_provider(criterion.provider_key)
    if provider is None:
        return CriterionStatus(
            criterion, None, False, error=f"No metric provider “{criterion.provider_key}” is available yet."
        )
    try:
        result = provider.compute(engagement, criterion.params)
    except Exception as exc:  # a provider from another app must never break the gate panel
        logger.exception("metric provider %s failed on engagement %s", criterion.provider_key, engagement.pk)
        return CriterionStatus(criterion, None, False, error=f"{provider.label} could not be computed: {exc}")
    if not isinstance(result, MetricResult):
        return CriterionStatus(criterion, None, False, error=f"{provider.label} returned no result.")
    detail = result.detail or ("No evidence yet." if result.value is None else "")
    return CriterionStatus(criterion, result.value, criterion.compare(result.value), detail, result.source_url)


def _evaluate(criterion: GateCriterion, engagement: Engagement) -> CriterionStatus:
    if criterion.is_checklist:
        done = criterion.checked_at is not None
        who = criterion.checked_by.display_name if criterion.checked_by else "someone"
        detail = f"Ticked by {who} on {criterion.checked_at:%d %b %Y}" if criterion.checked_at else ""
        return CriterionStatus(criterion, 1.0 if done else 0.0, done, detail)
    return _evaluate_metric(criterion, engagement)


def gate_evaluate(*, engagement: Engagement, phase: str | None = None) -> list[CriterionStatus]:
    """Evaluate every criterion of ``phase`` (default: the current one) and remember the verdicts.

    The verdicts are stored on the criteria so the portfolio board can count them without calling providers.
    """
    phase = phase or engagement.phase
    criteria = list(engagement.criteria.filter(phase=phase).select_related("checked_by"))
    statuses = [_evaluate(c, engagement) for c in criteria]
    now = timezone.now()
    for status in statuses:
        status.criterion.last_value, status.criterion.last_passed = status.value, status.passed
        status.criterion.last_evaluated_at = now
    GateCriterion.objects.bulk_update(criteria, ["last_value", "last_passed", "last_evaluated_at"])
    return statuses


def gate_criteria_from_templates(*, engagement: Engagement) -> list[GateCriterion]:
    """Give a new engagement its own copy of the default criteria of every phase."""
    rows = []
    for phase in Phase.values:
        for position, spec in enumerate(DEFAULT_CRITERIA.get(phase, [])):
            rows.append(GateCriterion(engagement=engagement, phase=phase, position=position, **spec))
    for row in rows:
        row.full_clean(exclude=["engagement"])
    return GateCriterion.objects.bulk_create(rows)


def _clean_threshold(kind: str, threshold: Any) -> float | None:
    if kind == GateCriterion.Kind.CHECKLIST or threshold in (None, ""):
        return None
    try:
        return float(threshold)
    except (TypeError, ValueError):
        raise ValidationError(
            {"threshold": f"“{threshold}” is not a number. Enter the threshold as a number, e.g. 50 or 0.8."}
        ) from None


@transaction.atomic
def criterion_create(
    *,
    engagement: Engagement,
    actor: Any,
    phase: str,
    label: str,
    kind: str = GateCriterion.Kind.CHECKLIST,
    provider_key: str = "",
    params: dict[str, Any] | None = None,
    comparison: str = GateCriterion.Comparison.GTE,
    threshold: Any = None,
    visible_to_client: bool = False,
) -> GateCriterion:
    require_editor(engagement, actor)
    last = engagement.criteria.filter(phase=phase).order_by("-position").first()
    criterion = GateCriterion(
        engagement=engagement,
        phase=phase,
        label=label,
        kind=kind,
        provider_key=provider_key if kind == GateCriterion.Kind.METRIC else "",
        params=params or {},
        comparison=comparison,
        threshold=_clean_threshold(kind, threshold),
        position=(last.position + 1) if last else 0,
        visible_to_client=visible_to_client,
    )
    criterion.full_clean()
    criterion.save()
    activity_record(
        engagement=engagement,
        actor=actor,
        verb="added a gate criterion",
        target=label,
        client_visible=criterion.visible_to_client,
    )
    return criterion


@transaction.atomic
def criterion_update(*, criterion: GateCriterion, actor: Any, **fields: Any) -> GateCriterion:
    """Change a criterion's label, provider, params, comparison or threshold."""
    require_editor(criterion.engagement, actor)
    allowed = {"label", "provider_key", "params", "comparison", "threshold"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "threshold" in fields:
        fields["threshold"] = _clean_threshold(criterion.kind, fields["threshold"])
    for name, value in fields.items():
        setattr(criterion, name, value)
    criterion.full_clean()
    criterion.save()
    activity_record(
        engagement=criterion.engagement,
        actor=actor,
        verb="changed the gate criterion",
        target=criterion.label,
        client_visible=criterion.visible_to_client,
    )
    return criterion


@transaction.atomic
def criterion_delete(*, criterion: GateCriterion, actor: Any) -> None:
    require_editor(criterion.engagement, actor)
    activity_record(
        engagement=criterion.engagement,
        actor=actor,
        verb="removed the gate criterion",
        target=criterion.label,
        client_visible=criterion.visible_to_client,
    )
    criterion.delete()


@transaction.atomic
def criterion_check(*, criterion: GateCriterion, actor: Any, checked: bool) -> GateCriterion:
    """Tick or untick a checklist item, recording who did it and when."""
    require_editor(criterion.engagement, actor)
    if not criterion.is_checklist:
        raise ValidationError("Evidence criteria are computed from the product; they cannot be ticked by hand.")
    criterion.checked_by, criterion.checked_at = (actor, timezone.now()) if checked else (None, None)
    criterion.last_passed = checked
    criterion.save(update_fields=["checked_by", "checked_at", "last_passed"])
    activity_record(
        engagement=criterion.engagement,
        actor=actor,
        verb="ticked" if checked else "unticked",
        target=criterion.label,
        client_visible=criterion.visible_to_client,
    )
    return criterion
