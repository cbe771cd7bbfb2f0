from __future__ import annotations

import pytest

from accounts.models import User
from engagements.models import Engagement, GateCriterion, Phase


def satisfy_gate(engagement: Engagement, actor: User, phase: str = Phase.DISCOVER) -> None:
    """Make every criterion of ``phase`` pass: tick checklists, drop evidence criteria."""
    from engagements.services import criterion_check, criterion_delete

    for criterion in engagement.criteria.filter(phase=phase):
        if criterion.kind == GateCriterion.Kind.CHECKLIST:
            criterion_check(criterion=criterion, actor=actor, checked=True)
        else:
            criterion_delete(criterion=criterion, actor=actor)


@pytest.fixture
def engineer(fde: User, other_fde: User, engagement: Engagement) -> User:
    """``other_fde`` on the team as an engineer (not a lead)."""
    from engagements.services import engagement_assign

    engagement_assign(engagement=engagement, user=other_fde, role="engineer")
    return other_fde


@pytest.fixture
def discover_ready(engagement: Engagement, fde: User) -> Engagement:
    satisfy_gate(engagement, fde)
    return engagement
