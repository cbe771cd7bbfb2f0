"""Demo engagements for the seed."""

from __future__ import annotations

from typing import Any

from engagements.models import Engagement
from engagements.services import engagement_create


def seed(people: dict[str, Any]) -> dict[str, Any]:
    acme, globex, lead = people["demo_client"], people["other_client"], people["lead"]
    demo = Engagement.objects.filter(client=acme, name="Claims triage assistant").first() or engagement_create(
        client=acme,
        name="Claims triage assistant",
        problem_statement=(
            "Damage and delay claims arrive by e-mail and take agents 25 minutes each to triage against "
            "contracts and carrier policies. Ground answers in the policy library and cut handling time."
        ),
        lead=lead,
    )
    other = Engagement.objects.filter(client=globex, name="Clinical policy search").first() or engagement_create(
        client=globex,
        name="Clinical policy search",
        problem_statement="Nurses search 4,000 pages of clinical policy to answer routine questions.",
        lead=lead,
    )
    return {"demo_engagement": demo, "other_engagement": other}
