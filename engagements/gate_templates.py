"""Default exit criteria per phase; every new engagement gets its own editable copy.

Evidence criteria may name providers that other apps register (``rag.*``, ``deployments.*``, ``roi.*``); until
such a provider exists the criterion shows "provider not available" and does not pass.
"""

from __future__ import annotations

from typing import Any

from engagements.models import Phase

CHECK = "checklist"
METRIC = "metric"

DEFAULT_CRITERIA: dict[str, list[dict[str, Any]]] = {
    Phase.DISCOVER: [
        {"kind": CHECK, "label": "Kick-off workshop held with the sponsor"},
        {"kind": CHECK, "label": "Data access granted"},
        {"kind": CHECK, "label": "Security review scheduled"},
        {
            "kind": METRIC,
            "label": "Executive sponsor identified",
            "provider_key": "engagements.stakeholder_count",
            "params": {"role": "sponsor"},
            "comparison": "gte",
            "threshold": 1,
        },
        {
            "kind": METRIC,
            "label": "Must-have requirements with acceptance criteria (%)",
            "provider_key": "engagements.requirements_coverage",
            "params": {"priority": "must"},
            "comparison": "gte",
            "threshold": 100,
        },
    ],
    Phase.PROTOTYPE: [
        {"kind": CHECK, "label": "Prototype demoed to the champion"},
        {
            "kind": METRIC,
            "label": "Documents ingested",
            "provider_key": "rag.documents_ingested",
            "comparison": "gte",
            "threshold": 50,
        },
        {
            "kind": METRIC,
            "label": "KPIs with a baseline and a target (%)",
            "provider_key": "engagements.kpis_baselined",
            "comparison": "gte",
            "threshold": 100,
        },
        {
            "kind": METRIC,
            "label": "Stakeholder sign-offs on the prototype",
            "provider_key": "engagements.signoffs",
            "params": {"phase": "prototype"},
            "comparison": "gte",
            "threshold": 1,
        },
    ],
    Phase.VALIDATE: [
        {"kind": CHECK, "label": "Security review signed off"},
        {
            "kind": METRIC,
            "label": "Latest eval faithfulness",
            "provider_key": "rag.eval_metric",
            "params": {"metric": "faithfulness"},
            "comparison": "gte",
            "threshold": 0.8,
        },
        {
            "kind": METRIC,
            "label": "Requirements covered by eval cases (%)",
            "provider_key": "rag.eval_coverage",
            "comparison": "gte",
            "threshold": 80,
        },
        {
            "kind": METRIC,
            "label": "Open high risks (likelihood × impact ≥ 15)",
            "provider_key": "engagements.open_high_risks",
            "comparison": "lte",
            "threshold": 0,
        },
        {
            "kind": METRIC,
            "label": "Sponsor sign-off on validation",
            "provider_key": "engagements.signoffs",
            "params": {"phase": "validate", "role": "sponsor"},
            "comparison": "gte",
            "threshold": 1,
        },
    ],
    Phase.SHIP: [
        {"kind": CHECK, "label": "Runbook handed over to the client's IT"},
        {"kind": CHECK, "label": "Go-live approved by the sponsor"},
        {
            "kind": METRIC,
            "label": "p95 time to first token at the target load (s)",
            "provider_key": "deployments.p95_ttft",
            "comparison": "lte",
            "threshold": 1.0,
        },
        {
            "kind": METRIC,
            "label": "ROI payback (months)",
            "provider_key": "roi.payback_months",
            "comparison": "lte",
            "threshold": 12,
        },
    ],
    Phase.ITERATE: [
        {
            "kind": METRIC,
            "label": "Must-have requirements done (%)",
            "provider_key": "engagements.requirements_done",
            "params": {"priority": "must"},
            "comparison": "gte",
            "threshold": 100,
        },
    ],
}
