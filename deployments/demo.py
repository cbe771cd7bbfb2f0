"""Demo traffic: a modest stream of real calls through the gateway to the local model, so dashboards fill.

Two demo applications of the demo client call it, one with a prompt template that keeps its fixed instructions
first (prefix caching reuses them) and one that puts the variable e-mail subject first (it cannot), so the
prefix-cache advice has both cases to show. The key is derived from the secret key, so it is never stored anywhere
and the seed and the task agree on it.
"""

from __future__ import annotations

import hmac
import logging
import random
from typing import Any

import httpx
from django.conf import settings

from deployments.applications import KEY_PREFIX

logger = logging.getLogger(__name__)

DESK_APP = "Claims desk assistant (demo traffic)"
TRIAGE_APP = "E-mail triage (demo traffic)"

DESK_SYSTEM = (
    "You are the claims desk assistant of a logistics company. Answer in two sentences at most. Use plain words. "
    "If a question is about a damaged or delayed shipment, remind the customer that claims must be filed within "
    "14 days of delivery with photos and the delivery note. Never promise a refund amount. If you do not know, say "
    "that a claims agent will follow up within one working day."
)
TRIAGE_INSTRUCTIONS = (
    "Classify the e-mail above into exactly one of: damage claim, delay claim, billing question, address change, "
    "other. Answer with the category only, in lower case, with no explanation and no punctuation."
)
QUESTIONS = [
    "My pallet arrived with a crushed corner. What do I do?",
    "The shipment to Rotterdam is three days late. Can I claim?",
    "How long do I have to report water damage?",
    "Do I need the delivery note for a claim?",
    "Can you tell me who pays for a damaged container?",
    "The driver left the parcel outside in the rain. Is that covered?",
    "What photos should I send with a damage claim?",
    "Is a delay caused by a strike covered by my contract?",
    "I found broken glass inside the box. Who do I call?",
    "Our invoice shows a fuel surcharge I did not expect. Why?",
]
SUBJECTS = [
    "Re: broken pallet on delivery 4471",
    "Invoice 2291 charged twice",
    "Container MSKU 889 still not arrived",
    "New delivery address from next week",
    "Water damage on shipment to Hamburg",
    "Question about your opening hours",
]


def demo_key(application: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo traffic: {application}".encode(), "sha256").hexdigest()
    return f"{KEY_PREFIX}demo-{digest[:40]}"


def demo_requests(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """(application, request body) pairs for one round."""
    model = settings.LOCAL_VLLM_MODEL
    return [
        (
            DESK_APP,
            {
                "model": model,
                "messages": [
                    {"role": "system", "content": DESK_SYSTEM},
                    {"role": "user", "content": rng.choice(QUESTIONS)},
                ],
                "max_tokens": 32,
                "stream": True,
            },
        ),
        (
            TRIAGE_APP,
            {
                "model": model,
                "messages": [{"role": "user", "content": f"Subject: {rng.choice(SUBJECTS)}\n\n{TRIAGE_INSTRUCTIONS}"}],
                "max_tokens": 6,
                "stream": False,
            },
        ),
    ]


def send_demo_traffic(*, rng: random.Random | None = None) -> int:
    """Send one round of demo calls through the gateway; returns how many were answered."""
    answered = 0
    with httpx.Client(base_url=settings.GATEWAY_URL, timeout=30) as client:
        for application, body in demo_requests(rng or random.Random()):
            headers = {"Authorization": f"Bearer {demo_key(application)}"}
            try:
                with client.stream("POST", "/chat/completions", json=body, headers=headers) as response:
                    for _ in response.iter_bytes():
                        pass
                answered += response.status_code == 200
            except httpx.HTTPError as exc:
                logger.warning("demo traffic could not reach the gateway at %s: %s", settings.GATEWAY_URL, exc)
                break
    return answered
