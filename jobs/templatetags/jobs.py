"""``{% job_can_change job as can_change %}``: whether the person viewing may cancel or retry the job."""

from __future__ import annotations

from typing import Any

from django import template

from jobs.models import Job
from jobs.selectors import job_user_can_change

register = template.Library()


@register.simple_tag(takes_context=True)
def job_can_change(context: dict[str, Any], job: Job) -> bool:
    request = context.get("request")
    if request is None:
        return False
    editable = context.get("job_editable_engagements")  # pages listing many jobs look it up once
    if editable is not None and job.engagement_id is not None:
        return job.engagement_id in editable
    return job_user_can_change(job=job, user=request.user)


@register.filter
def duration(seconds: float | int | None) -> str:
    """A short human duration: 45 s, 3 min, 2 h 5 min, 3 d."""
    if seconds is None:
        return "–"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"
