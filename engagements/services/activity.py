"""The engagement activity feed, written by every service that changes something on an engagement.

Other apps record their own events with::

    from engagements.services import activity_record

    activity_record(
        engagement=kb.engagement,          # engagements.Engagement
        actor=request.user,                # a User, or None for background work
        verb="ingested 42 documents into", # reads as "<actor> <verb> <target>"
        target=kb.name,                    # what it happened to, as shown to people
        url=kb_url,                        # optional link to it (a path in the FDE workspace)
        client_visible=True,               # False keeps it out of the client portal's feed
    )
"""

from __future__ import annotations

from typing import Any

from engagements.models import Activity, Engagement


def activity_record(
    *, engagement: Engagement, actor: Any, verb: str, target: str = "", url: str = "", client_visible: bool = True
) -> Activity:
    """Append one event to the engagement's feed; callers run it inside their own transaction."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    activity = Activity(
        engagement=engagement,
        actor=actor,
        verb=verb[:200],
        target=str(target)[:300],
        url=url[:500],
        client_visible=client_visible,
    )
    activity.full_clean(exclude=["actor"])
    activity.save()
    return activity
