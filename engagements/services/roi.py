"""Writes to an engagement's ROI inputs: rates, costs, valuation rules, assumptions and named scenarios.

Every change is recorded in the activity feed as internal (``client_visible=False``): rates, costs and the rules
behind the figures are the provider's, and the client sees only the figures.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from engagements.models import (
    CostItem,
    Engagement,
    HourlyRate,
    Kpi,
    RoiAssumptions,
    RoiScenario,
    ValuationRule,
)
from engagements.roi.calc import month_start
from engagements.roi.inputs import STANDARD_SCENARIOS, roi_assumptions_default
from engagements.services._common import require_editor
from engagements.services.activity import activity_record

RATE_FIELDS = {"hourly_rate", "effective_from", "note"}
HOURS_PER_TIME_UNIT = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "second": 1 / 3600,
    "min": 1 / 60,
    "minute": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "hour": 1.0,
    "day": 8.0,
}


def _internal(engagement: Engagement, actor: Any, verb: str, target: str) -> None:
    activity_record(engagement=engagement, actor=actor, verb=verb, target=target, client_visible=False)


def _save(obj: Any, message: str) -> None:
    """Validate and save; a race past ``full_clean``'s unique checks still ends as a readable error."""
    obj.full_clean()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise ValidationError(message) from None


def suggested_factor(*, kind: str, unit: str) -> float:
    """The conversion a valuation rule needs for a KPI's unit: minutes into hours, a percentage into a share."""
    word = re.sub(r"[^a-z%]", "", unit.lower()).removesuffix("s") or unit.lower()
    if kind == ValuationRule.Kind.HOURS_SAVED:
        return HOURS_PER_TIME_UNIT.get(word, 1.0)
    return 0.01 if "%" in unit or word in {"percent", "pct"} else 1.0


@transaction.atomic
def roi_assumptions_update(*, engagement: Engagement, actor: Any, **fields: Any) -> RoiAssumptions:
    """Change the engagement-wide ROI inputs (created from the defaults the first time)."""
    require_editor(engagement, actor)
    unknown = set(fields) - set(RoiAssumptions.INPUTS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    assumptions = RoiAssumptions.objects.filter(engagement=engagement).first()
    assumptions = assumptions or roi_assumptions_default(engagement=engagement)
    for name, value in fields.items():
        setattr(assumptions, name, value)
    assumptions.start_month = month_start(assumptions.start_month)
    assumptions.go_live_month = month_start(assumptions.go_live_month)
    _save(assumptions, "The ROI assumptions were changed by someone else meanwhile; reload and try again.")
    _internal(engagement, actor, "changed the ROI assumptions of", engagement.name)
    return assumptions


@transaction.atomic
def hourly_rate_create(
    *,
    engagement: Engagement,
    actor: Any,
    hourly_rate: Decimal,
    effective_from: dt.date,
    user: Any = None,
    role: str = "",
    note: str = "",
) -> HourlyRate:
    """Add a rate for a person, a team role, or anyone (neither), in force from ``effective_from``."""
    require_editor(engagement, actor)
    if user is not None and not getattr(user, "is_provider", False):
        raise ValidationError({"user": "Rates are for provider staff (FDEs) only."})
    if user is not None and role:
        raise ValidationError("A rate is for a person or for a role, not both; leave one of them empty.")
    rate = HourlyRate(
        engagement=engagement, user=user, role=role, hourly_rate=hourly_rate, effective_from=effective_from, note=note
    )
    _save(rate, "There is already a rate for them from that date; edit it instead.")
    _internal(engagement, actor, "added an hourly rate for", rate.applies_to)
    return rate


@transaction.atomic
def hourly_rate_update(*, rate: HourlyRate, actor: Any, **fields: Any) -> HourlyRate:
    """Correct a rate's amount, start date or note; time already logged is priced again with it."""
    require_editor(rate.engagement, actor)
    unknown = set(fields) - RATE_FIELDS
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(rate, name, value)
    _save(rate, "There is already a rate for them from that date; edit that one instead.")
    _internal(rate.engagement, actor, "changed an hourly rate for", rate.applies_to)
    return rate


@transaction.atomic
def cost_item_create(
    *,
    engagement: Engagement,
    actor: Any,
    name: str,
    amount: Decimal,
    starts_on: dt.date,
    category: str = CostItem.Category.ONE_OFF,
    ends_on: dt.date | None = None,
    note: str = "",
) -> CostItem:
    require_editor(engagement, actor)
    if category == CostItem.Category.ONE_OFF:
        ends_on = None
    item = CostItem(
        engagement=engagement,
        name=name,
        category=category,
        amount=amount,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note,
    )
    _save(item, "The cost could not be saved; reload and try again.")
    _internal(engagement, actor, "added the cost", name)
    return item


@transaction.atomic
def valuation_rule_create(
    *,
    engagement: Engagement,
    actor: Any,
    kpi: Kpi,
    kind: str,
    unit_value: Decimal,
    factor: float | None = None,
    per_volume: bool = True,
    note: str = "",
) -> ValuationRule:
    """Say how a KPI's improvement becomes money; the unit conversion is suggested from the KPI's unit if omitted."""
    require_editor(engagement, actor)
    if kpi.engagement_id != engagement.pk:
        raise ValidationError({"kpi": "Choose one of this engagement's KPIs."})
    if factor is None:
        factor = suggested_factor(kind=kind, unit=kpi.unit)
    if factor <= 0:
        raise ValidationError({"factor": "The conversion must be a positive number, e.g. 0.016667 (1/60)."})
    rule = ValuationRule(
        engagement=engagement,
        kpi=kpi,
        kind=kind,
        unit_value=unit_value,
        factor=factor,
        per_volume=per_volume,
        note=note,
    )
    _save(rule, f"{kpi.name} already has a rule of this kind; delete it first.")
    _internal(engagement, actor, "added a valuation rule for", kpi.name)
    return rule


@transaction.atomic
def roi_record_delete(*, record: HourlyRate | CostItem | ValuationRule, actor: Any) -> None:
    engagement = record.engagement
    require_editor(engagement, actor)
    _internal(engagement, actor, f"deleted the {record._meta.verbose_name}", str(record))
    record.delete()


@transaction.atomic
def roi_scenario_save(
    *, engagement: Engagement, actor: Any, name: str, scenario: RoiScenario | None = None, **inputs: Any
) -> RoiScenario:
    """Save the inputs as a new named scenario, or into ``scenario``; the first one saved becomes the primary."""
    require_editor(engagement, actor)
    unknown = set(inputs) - set(RoiScenario.INPUTS)
    if unknown:
        raise ValidationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if scenario is None:
        first = not RoiScenario.objects.filter(engagement=engagement).exists()
        scenario = RoiScenario(engagement=engagement, created_by=actor, is_primary=first)
    elif scenario.engagement_id != engagement.pk:
        raise ValidationError("That scenario belongs to another engagement.")
    scenario.name = name.strip()
    for field, value in inputs.items():
        setattr(scenario, field, value)
    _save(scenario, "A scenario with this name exists; choose another name.")
    _internal(engagement, actor, "saved the ROI scenario", scenario.name)
    return scenario


@transaction.atomic
def roi_scenario_set_primary(*, scenario: RoiScenario, actor: Any) -> RoiScenario:
    """Make ``scenario`` the one the gate, the portal and the portfolio use."""
    require_editor(scenario.engagement, actor)
    RoiScenario.objects.filter(engagement=scenario.engagement_id, is_primary=True).update(is_primary=False)
    RoiScenario.objects.filter(pk=scenario.pk).update(is_primary=True)
    scenario.is_primary = True
    _internal(scenario.engagement, actor, "made the primary ROI scenario", scenario.name)
    return scenario


@transaction.atomic
def roi_scenario_delete(*, scenario: RoiScenario, actor: Any) -> None:
    """Delete a scenario; when it was the primary, the first remaining one (by name) takes over."""
    engagement = scenario.engagement
    require_editor(engagement, actor)
    _internal(engagement, actor, "deleted the ROI scenario", scenario.name)
    was_primary = scenario.is_primary
    scenario.delete()
    successor = RoiScenario.objects.filter(engagement=engagement).order_by("name").first()
    if was_primary and successor is not None:
        RoiScenario.objects.filter(pk=successor.pk).update(is_primary=True)


@transaction.atomic
def roi_scenarios_create_standard(
    *, engagement: Engagement, actor: Any, volume_per_month: Decimal
) -> list[RoiScenario]:
    """Create the conservative, expected and optimistic scenarios around a monthly volume; Expected is primary.

    Scenarios that already exist under these names are left as they are.
    """
    require_editor(engagement, actor)
    if volume_per_month <= 0:
        raise ValidationError({"volume_per_month": "Enter the expected monthly volume, e.g. 4000."})
    existing = set(RoiScenario.objects.filter(engagement=engagement).values_list("name", flat=True))
    has_primary = RoiScenario.objects.filter(engagement=engagement, is_primary=True).exists()
    created = []
    for spec in STANDARD_SCENARIOS:
        if spec["name"] in existing:
            continue
        fields = {k: v for k, v in spec.items() if k != "volume_share"}
        volume = (volume_per_month * spec["volume_share"]).quantize(Decimal("0.01"))
        scenario = RoiScenario(
            engagement=engagement,
            created_by=actor,
            volume_per_month=volume,
            is_primary=spec["name"] == "Expected" and not has_primary,
            **fields,
        )
        _save(scenario, "The scenarios were changed by someone else meanwhile; reload and try again.")
        created.append(scenario)
    if created:
        names = ", ".join(s.name for s in created)
        _internal(engagement, actor, "created the ROI scenarios", names)
    return created
