"""What the client portal shows, built only from client-safe fields.

Gate criteria, requirements, risks and decisions appear only when an FDE marked them visible to the client; ROI
comes from ``roi_client_summary`` (no rates, hours or valuation rules); SLA figures are said in plain words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from deployments.models import Deployment, ModelCall, SlaState
from engagements.models import Engagement, GateCriterion, Phase
from engagements.roi.inputs import roi_bundle
from engagements.roi.selectors import roi_client_summary, roi_compute
from engagements.selectors import engagement_activity, engagement_timeline, kpi_list

SLA_WEEK = dt.timedelta(days=7)


def portal_engagement_cards(*, engagements: QuerySet[Engagement]) -> list[dict[str, Any]]:
    """Each engagement's phase, health and next decision (the gate it is working towards), in one query."""
    current = Q(criteria__phase=F("phase"), criteria__visible_to_client=True)
    rows = engagements.filter(archived_at__isnull=True).annotate(
        shown_total=Count("criteria", filter=current, distinct=True),
        shown_met=Count("criteria", filter=current & Q(criteria__last_passed=True), distinct=True),
    )
    return [{"engagement": e, "next_decision": next_decision(e, e.shown_met, e.shown_total)} for e in rows]


def next_decision(engagement: Engagement, met: int, total: int) -> str:
    after = Phase.after(engagement.phase)
    if after is None:
        return "Keep improving what is live; no further gate."
    words = f"Whether to move on to {Phase(after).label}"
    if total:
        words += f": {met} of {total} criteria met"
    if engagement.target_date:
        words += f"; target date {engagement.target_date:%-d %b %Y}"
    return words + "."


def visible_criteria(*, engagement: Engagement) -> list[GateCriterion]:
    return list(engagement.criteria.filter(phase=engagement.phase, visible_to_client=True))


def visible_records(*, engagement: Engagement) -> dict[str, list[Any]]:
    return {
        "requirements": list(engagement.requirements.filter(visible_to_client=True)),
        "risks": list(engagement.risks.filter(visible_to_client=True).exclude(status="closed")),
        "decisions": list(engagement.decisions.filter(visible_to_client=True)),
    }


def portal_roi(*, engagement: Engagement) -> dict[str, Any] | None:
    """The client-safe ROI of the primary scenario, or None until a scenario with a valuation rule is saved."""
    bundle = roi_bundle(engagement=engagement)
    if bundle.primary is None or not bundle.rules:
        return None
    result = roi_compute(bundle=bundle, scenario=bundle.primary)
    return roi_client_summary(bundle=bundle, scenario=bundle.primary, result=result)


@dataclass(frozen=True)
class SlaLine:
    deployment: str
    state: str
    sentences: list[str]


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def sla_in_words(*, deployment: Deployment, now: dt.datetime | None = None) -> SlaLine:
    """The deployment's SLA over the last week in sentences a sponsor reads, counted in SQL.

    A p95 target is said as the share of requests within it against 95%; the error-rate target as the share that
    succeeded against its complement.
    """
    now = now or timezone.now()
    calls = ModelCall.objects.filter(deployment=deployment, created_at__gte=now - SLA_WEEK, created_at__lt=now)
    ok = Q(status=ModelCall.Status.OK)
    counts: dict[str, Any] = {"calls": Count("id"), "ok": Count("id", filter=ok)}
    if deployment.sla_ttft_p95_ms:
        counts["ttft_in"] = Count("id", filter=ok & Q(ttft_ms__lte=deployment.sla_ttft_p95_ms))
    if deployment.sla_e2e_p95_ms:
        counts["e2e_in"] = Count("id", filter=ok & Q(total_ms__lte=deployment.sla_e2e_p95_ms))
    row = calls.aggregate(**counts)
    state = SlaState(deployment.sla_state).label
    if not row["calls"]:
        return SlaLine(deployment.name, state, ["No requests this week yet."])
    sentences = []
    if row["ok"] and deployment.sla_ttft_p95_ms:
        share = 100 * row["ttft_in"] / row["ok"]
        sentences.append(
            f"Answers started within {_seconds(deployment.sla_ttft_p95_ms)} for {share:.0f}% of requests this week;"
            " target 95%."
        )
    if row["ok"] and deployment.sla_e2e_p95_ms:
        share = 100 * row["e2e_in"] / row["ok"]
        sentences.append(
            f"Answers were complete within {_seconds(deployment.sla_e2e_p95_ms)} for {share:.0f}% of requests"
            " this week; target 95%."
        )
    succeeded = 100 * row["ok"] / row["calls"]
    limit = deployment.sla_max_error_rate
    target = "" if limit is None else f"; target {100 - float(limit):g}%"
    sentences.append(f"{succeeded:.1f}% of {row['calls']:,} requests succeeded this week{target}.")
    return SlaLine(deployment.name, state, sentences)


def portal_sla(*, engagement: Engagement) -> list[SlaLine]:
    return [sla_in_words(deployment=d) for d in Deployment.objects.filter(engagement=engagement).order_by("name")]


def portal_engagement_context(*, engagement: Engagement) -> dict[str, Any]:
    """Everything the portal's engagement page and the executive summary show, client-safe by construction."""
    criteria = visible_criteria(engagement=engagement)
    met = sum(c.last_passed for c in criteria)
    kpis = kpi_list(engagement=engagement)
    return {
        "phase_choices": Phase.choices,
        "phase_position": Phase.position_of(engagement.phase),
        "timeline": engagement_timeline(engagement=engagement),
        "criteria": criteria,
        "criteria_met": met,
        "next_decision": next_decision(engagement, met, len(criteria)),
        "kpis": kpis,
        "kpi_latest": [(k, (list(k.measurements.all()) or [None])[-1]) for k in kpis],
        "stakeholders": list(engagement.stakeholders.all()),
        "team": list(engagement.assignments.select_related("user")),
        "activities": engagement_activity(engagement=engagement, client_view=True, limit=12),
        "roi": portal_roi(engagement=engagement),
        "sla": portal_sla(engagement=engagement),
        **visible_records(engagement=engagement),
    }
