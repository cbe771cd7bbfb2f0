from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Aggregate, Count, FloatField, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.selectors import user_client, user_is_provider
from deployments.models import ClientApplication, Deployment, GatewayKey, ModelCall


def deployment_list_for_user(*, user: Any) -> QuerySet[Deployment]:
    """Provider staff see every deployment; a client's users see only those of their own engagements."""
    qs = Deployment.objects.select_related("engagement__client")
    if user_is_provider(user):
        return qs
    client = user_client(user)
    if client is None:
        return qs.none()
    return qs.filter(Q(engagement__client=client))


def deployment_get_for_user(*, user: Any, uuid: Any) -> Deployment | None:
    return deployment_list_for_user(user=user).select_related("hardware").filter(uuid=uuid).first()


def deployment_user_can_edit(*, deployment: Deployment, user: Any) -> bool:
    """Changing an endpoint can redirect its traffic and key: only the engagement's team may, and for a shared
    endpoint (no engagement) whoever registered it; superusers always may."""
    from engagements.selectors import engagement_user_can_edit

    if not user_is_provider(user):
        return False
    if user.is_superuser:
        return True
    if deployment.engagement is not None:
        return engagement_user_can_edit(engagement=deployment.engagement, user=user)
    return deployment.created_by_id is not None and deployment.created_by_id == user.pk


def deployment_list_active() -> QuerySet[Deployment]:
    return Deployment.objects.filter(is_active=True)


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont``: the interpolated percentile of a column over the group."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def model_call_stats(*, deployment: Deployment, since: datetime) -> dict[str, Any]:
    """Counts, latency percentiles and token totals of the deployment's calls since ``since``, in one query.

    Reads the (deployment, created_at) index, so it stays fast with millions of rows in the log.
    """
    calls = ModelCall.objects.filter(deployment=deployment, created_at__gte=since)
    return calls.aggregate(
        calls=Count("id"),
        errors=Count("id", filter=~Q(status=ModelCall.Status.OK)),
        ttft_p50=Percentile("ttft_ms", 0.5),
        ttft_p95=Percentile("ttft_ms", 0.95),
        total_p95=Percentile("total_ms", 0.95),
        gap_p50=Percentile("gap_p50_ms", 0.5),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
    )


def model_call_recent(*, deployment: Deployment, limit: int = 200) -> list[ModelCall]:
    return list(ModelCall.objects.filter(deployment=deployment).order_by("-created_at")[:limit])


def deployment_health_report(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each active deployment's last stored health check, for /healthz and /metrics (no network call).

    A result older than four check intervals counts as down: the periodic check itself has stopped.
    """
    now = now or timezone.now()
    stale_after = timedelta(seconds=settings.DEPLOYMENT_HEALTH_INTERVAL * 4)
    report = []
    for d in deployment_list_active().order_by("name"):
        checked = d.health_checked_at
        if checked is None:
            ok, error = False, "not checked yet"
        elif now - checked > stale_after:
            ok = False
            error = f"no health check for {int((now - checked).total_seconds())} s: is Celery beat running?"
        else:
            ok, error = bool(d.health_ok), d.health_error
        report.append(
            {
                "ok": ok,
                "name": d.name,
                "uuid": str(d.uuid),
                "model": d.served_model_name,
                "latency_ms": d.health_latency_ms,
                "checked_at": checked.isoformat() if checked else None,
                **({"error": error} if error else {}),
            }
        )
    return report


def client_application_list(*, engagements: Any) -> QuerySet[ClientApplication]:
    """Client applications of the given engagements, each with its keys and their deployments, in three queries."""
    keys = GatewayKey.objects.prefetch_related("deployments").order_by("-created_at")
    return (
        ClientApplication.objects.filter(engagement__in=engagements)
        .select_related("engagement__client")
        .prefetch_related(Prefetch("keys", queryset=keys))
    )
