from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from engagements.models import Engagement
from engagements.selectors import engagement_user_can_edit


def require_editor(engagement: Engagement, actor: Any) -> None:
    """Only FDEs assigned to the engagement (or superusers) change it, and nobody changes an archived one."""
    if not engagement_user_can_edit(engagement=engagement, user=actor):
        raise PermissionDenied("Only FDEs assigned to this engagement can change it.")
    if engagement.is_archived:
        raise ValidationError("This engagement is archived; restore it before changing it.")
