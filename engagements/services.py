from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Client
from engagements.models import Assignment, Engagement


@transaction.atomic
def engagement_create(*, client: Client, name: str, problem_statement: str = "", lead: Any = None) -> Engagement:
    engagement = Engagement(client=client, name=name, problem_statement=problem_statement)
    engagement.full_clean()
    engagement.save()
    if lead is not None:
        engagement_assign(engagement=engagement, user=lead, role=Assignment.Role.LEAD)
    return engagement


@transaction.atomic
def engagement_assign(*, engagement: Engagement, user: Any, role: str = Assignment.Role.ENGINEER) -> Assignment:
    if not getattr(user, "is_provider", False):
        raise ValidationError({"user": "Only provider staff (FDEs) can be assigned to an engagement."})
    assignment, _ = Assignment.objects.update_or_create(engagement=engagement, user=user, defaults={"role": role})
    return assignment
