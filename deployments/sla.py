"""Judging a deployment against its SLA, and the alerts a sustained breach opens and the recovery closes.

The figures come from the gateway's call log over the SLA's trailing window, aggregated in SQL: p95 time to first
token and end-to-end time across calls; inter-token latency as each call's mean gap between tokens (the way GuideLLM
reports it per request), at p95 across calls; output tokens per second per user as 1000 / that p95, so 95% of calls
were at least that fast; and the share of calls that failed. A window with fewer than ``SLA_MIN_CALLS`` calls gives
no verdict. A breach that lasts a whole window opens an alert (an event in the engagement's activity feed and a post
to its webhook); the first check that finds the SLA met again closes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from deployments.models import Deployment, ModelCall, SlaAlert, SlaState
from deployments.selectors import Percentile
from deployments.series import GatewaySeries


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    unit: str
    higher_is_better: bool = False


TARGETS = (
    Target("ttft_p95_ms", "p95 time to first token", "ms"),
    Target("itl_p95_ms", "p95 inter-token latency", "ms"),
    Target("e2e_p95_ms", "p95 end-to-end latency", "ms"),
    Target("tokens_per_s", "output tokens/s per user", "tokens/s", higher_is_better=True),
    Target("error_rate", "error rate", "%"),
)
_SLA_FIELD = {
    "ttft_p95_ms": "sla_ttft_p95_ms",
    "itl_p95_ms": "sla_itl_p95_ms",
    "e2e_p95_ms": "sla_e2e_p95_ms",
    "tokens_per_s": "sla_min_tokens_per_s",
    "error_rate": "sla_max_error_rate",
}


def sla_targets(deployment: Deployment) -> dict[str, float]:
    return {key: float(value) for key, field in _SLA_FIELD.items() if (value := getattr(deployment, field)) is not None}


def window_figures(*, deployment: Deployment, start: datetime, end: datetime) -> dict[str, Any]:
    """The SLA figures of the deployment's calls in [start, end), in one query."""
    calls = ModelCall.objects.filter(deployment=deployment, created_at__gte=start, created_at__lt=end)
    ok = Q(status=ModelCall.Status.OK)
    row = calls.aggregate(
        calls=Count("id"),
        errors=Count("id", filter=~ok),
        ttft_p95_ms=Percentile("ttft_ms", 0.95, filter=ok),
        itl_p95_ms=Percentile("gap_mean_ms", 0.95, filter=ok),
        e2e_p95_ms=Percentile("total_ms", 0.95, filter=ok),
    )
    row["error_rate"] = 100.0 * row["errors"] / row["calls"] if row["calls"] else None
    row["tokens_per_s"] = 1000.0 / row["itl_p95_ms"] if row["itl_p95_ms"] else None
    return row


def judge(figures: dict[str, Any], targets: dict[str, float]) -> list[str]:
    """The breached targets, each as a sentence with the figure and the target."""
    breaches = []
    for target in TARGETS:
        if target.key not in targets or figures.get(target.key) is None:
            continue
        value, limit = figures[target.key], targets[target.key]
        if (value < limit) if target.higher_is_better else (value > limit):
            word = "below" if target.higher_is_better else "above"
            breaches.append(f"{target.label} {value:,.1f} {target.unit} is {word} the SLA's {limit:,.1f}")
    return breaches


@dataclass
class Verdict:
    state: str
    figures: dict[str, Any]
    breaches: list[str]


def deployment_sla_verdict(*, deployment: Deployment, now: datetime | None = None) -> Verdict:
    now = now or timezone.now()
    targets = sla_targets(deployment)
    if not targets:
        return Verdict(SlaState.UNSET, {}, [])
    start = now - timedelta(minutes=deployment.sla_window_minutes)
    figures = window_figures(deployment=deployment, start=start, end=now)
    figures["window_minutes"] = deployment.sla_window_minutes
    if figures["calls"] < settings.SLA_MIN_CALLS:
        return Verdict(SlaState.NO_DATA, figures, [])
    breaches = judge(figures, targets)
    return Verdict(SlaState.BREACHED if breaches else SlaState.MET, figures, breaches)


@transaction.atomic
def deployment_sla_evaluate(*, deployment_id: int, now: datetime | None = None) -> Verdict | None:
    """Judge the SLA now, store the verdict, and open or close the deployment's alert."""
    now = now or timezone.now()
    deployment = (
        Deployment.objects.select_for_update(of=("self",)).select_related("engagement").filter(pk=deployment_id).first()
    )
    if deployment is None:
        return None
    verdict = deployment_sla_verdict(deployment=deployment, now=now)
    open_alert = deployment.alerts.filter(closed_at__isnull=True).first()
    if verdict.state == SlaState.BREACHED:
        deployment.sla_breach_since = deployment.sla_breach_since or now
        sustained = now - deployment.sla_breach_since >= timedelta(minutes=deployment.sla_window_minutes)
        if sustained and open_alert is None:
            _alert_open(deployment=deployment, verdict=verdict, now=now)
        elif open_alert is not None:
            open_alert.figures = _jsonable(verdict.figures)
            open_alert.save(update_fields=["figures"])
    else:
        deployment.sla_breach_since = None
        if open_alert is not None and verdict.state in (SlaState.MET, SlaState.UNSET):
            _alert_close(alert=open_alert, deployment=deployment, verdict=verdict, now=now)
    deployment.sla_state = verdict.state
    deployment.sla_checked_at = now
    deployment.sla_figures = {**_jsonable(verdict.figures), "breaches": verdict.breaches}
    deployment.save(update_fields=["sla_state", "sla_checked_at", "sla_breach_since", "sla_figures"])
    return verdict


def _jsonable(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}


def _dashboard_url(deployment: Deployment) -> str:
    return reverse("deployments:detail", kwargs={"uuid": deployment.uuid})


def _alert_open(*, deployment: Deployment, verdict: Verdict, now: datetime) -> SlaAlert:
    summary = "; ".join(verdict.breaches)
    alert = SlaAlert.objects.create(
        deployment=deployment,
        opened_at=now,
        breach_started_at=deployment.sla_breach_since or now,
        summary=summary[:500],
        figures=_jsonable(verdict.figures),
    )
    _notify(
        deployment=deployment,
        verb="SLA breach opened on",
        text=f":rotating_light: SLA breach on {deployment.name} for {deployment.sla_window_minutes} min: {summary}.",
    )
    return alert


def _alert_close(*, alert: SlaAlert, deployment: Deployment, verdict: Verdict, now: datetime) -> None:
    alert.closed_at = now
    alert.save(update_fields=["closed_at"])
    minutes = round((now - alert.breach_started_at).total_seconds() / 60)
    reason = "the SLA holds again" if verdict.state == SlaState.MET else "the SLA was removed"
    _notify(
        deployment=deployment,
        verb="SLA breach closed on",
        text=f":white_check_mark: {deployment.name}: {reason} after a breach of about {minutes} min.",
    )


def _notify(*, deployment: Deployment, verb: str, text: str) -> None:
    from deployments.tasks import post_alert_webhook
    from engagements.services import activity_record

    engagement = deployment.engagement
    if engagement is None:
        return  # a shared endpoint: the banner on the fleet page and its dashboard carry the alert
    activity_record(
        engagement=engagement,
        actor=None,
        verb=verb,
        target=deployment.name,
        url=_dashboard_url(deployment),
        client_visible=False,
    )
    if hasattr(engagement, "alert_webhook"):
        url = f"{settings.SITE_URL.rstrip('/')}{_dashboard_url(deployment)}" if settings.SITE_URL else ""
        post_alert_webhook.delay_on_commit(
            engagement_id=engagement.pk, text=text + (f" <{url}|Open the dashboard>" if url else "")
        )


def sla_evaluate_targets() -> list[int]:
    return list(Deployment.objects.filter(is_active=True).values_list("pk", flat=True))


def series_breaches(gateway: GatewaySeries, targets: dict[str, float]) -> list[list[str]]:
    """The breached targets of each bucket of a gateway series (none for a bucket without calls)."""
    result = []
    for calls, errors, ttft, itl, e2e in zip(
        gateway.calls, gateway.errors, gateway.ttft, gateway.itl, gateway.e2e, strict=True
    ):
        figures = {
            "ttft_p95_ms": ttft[1],
            "itl_p95_ms": itl[1],
            "e2e_p95_ms": e2e[1],
            "tokens_per_s": 1000 / itl[1] if itl[1] else None,
            "error_rate": 100 * errors / calls if calls else None,
        }
        result.append(judge(figures, targets) if calls else [])
    return result
