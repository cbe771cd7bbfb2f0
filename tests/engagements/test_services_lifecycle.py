from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from engagements.models import Activity, Engagement, Phase, PhaseTransition
from engagements.services import (
    GateBlocked,
    criterion_check,
    criterion_create,
    engagement_advance_phase,
    engagement_archive,
    engagement_return_to_phase,
    engagement_update,
    stakeholder_create,
)
from tests.engagements.conftest import satisfy_gate


def test_new_engagement_starts_in_discover_with_its_own_criteria(engagement: Engagement) -> None:
    assert engagement.phase == Phase.DISCOVER
    phases = set(engagement.criteria.values_list("phase", flat=True))
    assert phases == set(Phase.values)
    assert engagement.activities.filter(verb="created the engagement").exists()


def test_advance_is_refused_while_a_criterion_fails(engagement: Engagement, fde) -> None:
    with pytest.raises(GateBlocked) as refused:
        engagement_advance_phase(engagement=engagement, actor=fde)
    assert "Data access granted" in str(refused.value)
    engagement.refresh_from_db()
    assert engagement.phase == Phase.DISCOVER
    assert not PhaseTransition.objects.exists()


def test_advance_when_gate_passes_records_transition_with_snapshot(discover_ready: Engagement, fde) -> None:
    criterion_create(
        engagement=discover_ready,
        actor=fde,
        phase=Phase.DISCOVER,
        label="Sponsor named",
        kind="metric",
        provider_key="engagements.stakeholder_count",
        params={"role": "sponsor"},
        comparison="gte",
        threshold="1",
    )
    stakeholder_create(engagement=discover_ready, actor=fde, name="Sam Sponsor", role="sponsor")
    transition = engagement_advance_phase(engagement=discover_ready, actor=fde, note="Workshop done")
    discover_ready.refresh_from_db()
    assert discover_ready.phase == Phase.PROTOTYPE
    assert (transition.from_phase, transition.to_phase, transition.actor) == ("discover", "prototype", fde)
    assert transition.note == "Workshop done" and not transition.is_override
    by_label = {row["label"]: row for row in transition.snapshot}
    assert by_label["Sponsor named"]["value"] == 1.0 and by_label["Sponsor named"]["passed"]
    assert by_label["Data access granted"]["passed"]


def test_phases_advance_in_order_and_iterate_is_last(discover_ready: Engagement, fde) -> None:
    seen = []
    for phase in Phase.values[:-1]:
        satisfy_gate(discover_ready, fde, phase)
        seen.append(engagement_advance_phase(engagement=discover_ready, actor=fde).to_phase)
    assert seen == ["prototype", "validate", "ship", "iterate"]
    with pytest.raises(ValidationError, match="last phase"):
        engagement_advance_phase(engagement=discover_ready, actor=fde)


def test_lead_can_override_failing_gate_with_reason(engagement: Engagement, fde) -> None:
    transition = engagement_advance_phase(engagement=engagement, actor=fde, override_reason="Sponsor asked to start")
    assert transition.is_override and transition.override_reason == "Sponsor asked to start"
    assert any(not row["passed"] for row in transition.snapshot)
    assert Activity.objects.filter(engagement=engagement, target__contains="gate overridden").exists()


def test_engineer_cannot_override_failing_gate(engagement: Engagement, engineer) -> None:
    with pytest.raises(PermissionDenied):
        engagement_advance_phase(engagement=engagement, actor=engineer, override_reason="please")
    engagement.refresh_from_db()
    assert engagement.phase == Phase.DISCOVER


def test_engineer_can_advance_a_passing_gate(discover_ready: Engagement, engineer) -> None:
    engagement_advance_phase(engagement=discover_ready, actor=engineer)
    discover_ready.refresh_from_db()
    assert discover_ready.phase == Phase.PROTOTYPE


def test_unassigned_fde_cannot_change_engagement(engagement: Engagement, other_fde) -> None:
    with pytest.raises(PermissionDenied):
        criterion_check(criterion=engagement.criteria.filter(kind="checklist")[0], actor=other_fde, checked=True)


def test_stale_page_is_refused(discover_ready: Engagement, fde) -> None:
    engagement_advance_phase(engagement=discover_ready, actor=fde, expected_phase="discover")
    with pytest.raises(ValidationError, match="out of date"):
        engagement_advance_phase(engagement=discover_ready, actor=fde, expected_phase="discover")


def test_going_back_needs_a_reason_and_an_earlier_phase(discover_ready: Engagement, fde) -> None:
    engagement_advance_phase(engagement=discover_ready, actor=fde)
    with pytest.raises(ValidationError, match="why"):
        engagement_return_to_phase(engagement=discover_ready, actor=fde, to_phase="discover", reason=" ")
    with pytest.raises(ValidationError):
        engagement_return_to_phase(engagement=discover_ready, actor=fde, to_phase="validate", reason="no")
    back = engagement_return_to_phase(
        engagement=discover_ready, actor=fde, to_phase="discover", reason="Data owner changed"
    )
    discover_ready.refresh_from_db()
    assert back.is_backward and discover_ready.phase == Phase.DISCOVER and back.note == "Data owner changed"


def test_checklist_tick_records_who_and_when(engagement: Engagement, fde) -> None:
    item = engagement.criteria.filter(kind="checklist")[0]
    criterion_check(criterion=item, actor=fde, checked=True)
    item.refresh_from_db()
    assert item.checked_by == fde and item.checked_at is not None and item.last_passed
    criterion_check(criterion=item, actor=fde, checked=False)
    item.refresh_from_db()
    assert item.checked_by is None and item.checked_at is None


def test_threshold_that_is_not_a_number_is_a_clear_error(engagement: Engagement, fde) -> None:
    with pytest.raises(ValidationError) as error:
        criterion_create(
            engagement=engagement,
            actor=fde,
            phase="discover",
            label="Docs",
            kind="metric",
            provider_key="rag.documents_ingested",
            threshold="fifty",
        )
    assert "is not a number" in str(error.value)


def test_dates_out_of_order_are_refused(engagement: Engagement, fde) -> None:
    import datetime as dt

    with pytest.raises(ValidationError, match="on or after the start date"):
        engagement_update(
            engagement=engagement, actor=fde, start_date=dt.date(2026, 5, 1), target_date=dt.date(2026, 4, 1)
        )


def test_health_other_than_on_track_needs_a_reason(engagement: Engagement, fde) -> None:
    with pytest.raises(ValidationError, match="Say why"):
        engagement_update(engagement=engagement, actor=fde, health="at_risk", health_reason="")
    engagement_update(engagement=engagement, actor=fde, health="at_risk", health_reason="Data late")
    engagement.refresh_from_db()
    assert engagement.health == "at_risk"


def test_archived_engagement_cannot_be_changed(engagement: Engagement, fde) -> None:
    engagement_archive(engagement=engagement, actor=fde)
    with pytest.raises(ValidationError, match="archived"):
        engagement_advance_phase(engagement=engagement, actor=fde, override_reason="x")
