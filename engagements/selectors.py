from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.selectors import user_client, user_is_provider
from engagements.models import Activity, Assignment, Engagement, KpiMeasurement, Phase, PhaseTransition, Risk

SORTS = {
    "name": "name",
    "client": "client__name",
    "phase": "phase_order",
    "health": "health_order",
    "target": "target_date",
    "days": "phase_entered_at",
    "gate": "criteria_met",
}


def engagement_list_for_user(*, user: Any) -> QuerySet[Engagement]:
    """Engagements ``user`` may see: provider staff see the whole practice, client users their own client's."""
    qs = Engagement.objects.select_related("client")
    if user_is_provider(user):
        return qs
    client = user_client(user)
    if client is None:
        return qs.none()
    return qs.filter(client=client)


def engagement_get_for_user(*, user: Any, uuid: uuid_lib.UUID | str) -> Engagement | None:
    return engagement_list_for_user(user=user).filter(uuid=uuid).first()


def engagement_user_can_edit(*, engagement: Engagement, user: Any) -> bool:
    """Only provider staff assigned to the engagement (or superusers) change it."""
    if not user_is_provider(user):
        return False
    if user.is_superuser:
        return True
    return Assignment.objects.filter(engagement=engagement, user=user).exists()


def engagement_user_is_lead(*, engagement: Engagement, user: Any) -> bool:
    if not user_is_provider(user):
        return False
    if user.is_superuser:
        return True
    return Assignment.objects.filter(engagement=engagement, user=user, role=Assignment.Role.LEAD).exists()


def _with_gate_progress(qs: QuerySet[Engagement]) -> QuerySet[Engagement]:
    """Annotate the current phase's criteria count and how many passed at their last evaluation."""
    current = Q(criteria__phase=F("phase"))
    return qs.annotate(
        criteria_total=Count("criteria", filter=current, distinct=True),
        criteria_met=Count("criteria", filter=current & Q(criteria__last_passed=True), distinct=True),
    )


def engagement_portfolio_for_user(
    *,
    user: Any,
    client: str = "",
    fde: str = "",
    health: str = "",
    archived: bool = False,
    sort: str = "",
) -> QuerySet[Engagement]:
    """The board's and list's engagements, filtered, with what a card shows, in a constant number of queries."""
    qs = engagement_list_for_user(user=user).filter(archived_at__isnull=not archived)
    if client:
        qs = qs.filter(client__slug=client)
    if fde:
        qs = qs.filter(assignments__user__email=fde)
    if health:
        qs = qs.filter(health=health)
    qs = _with_gate_progress(qs).prefetch_related(
        Prefetch("assignments", queryset=Assignment.objects.select_related("user").order_by("role", "user__email"))
    )
    key = sort.lstrip("-")
    if key not in SORTS:
        return qs
    qs = qs.annotate(phase_order=_rank("phase", Phase.values), health_order=_rank("health", Engagement.Health.values))
    field = SORTS[key]
    # "days in phase" grows as phase_entered_at gets older, so its ascending order is the field's descending one
    descending = sort.startswith("-") != (key == "days")
    return qs.order_by(F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True), "name")


def _rank(field: str, values: list[str]) -> Case:
    return Case(*[When(**{field: v}, then=Value(i)) for i, v in enumerate(values)], output_field=IntegerField())


def engagement_board_columns(*, engagements: QuerySet[Engagement]) -> list[tuple[str, str, list[Engagement]]]:
    columns: dict[str, list[Engagement]] = {value: [] for value in Phase.values}
    for engagement in engagements:
        columns[engagement.phase].append(engagement)
    return [(value, Phase(value).label, columns[value]) for value in Phase.values]


@dataclass(frozen=True)
class PhaseSpan:
    phase: str
    label: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    transition: PhaseTransition | None  # the move that ended this span

    @property
    def days(self) -> float:
        return round(((self.ended_at or timezone.now()) - self.started_at).total_seconds() / 86400, 1)


def engagement_timeline(*, engagement: Engagement) -> list[PhaseSpan]:
    """Every stay in a phase, oldest first, with the transition that ended it (None for the current one)."""
    transitions = list(engagement.transitions.select_related("actor").order_by("created_at", "id"))
    start = engagement.created_at
    if engagement.start_date and not transitions:
        start = min(start, timezone.make_aware(dt.datetime.combine(engagement.start_date, dt.time())))
    spans, phase = [], transitions[0].from_phase if transitions else engagement.phase
    for t in transitions:
        spans.append(PhaseSpan(phase, Phase(phase).label, start, t.created_at, t))
        start, phase = t.created_at, t.to_phase
    spans.append(PhaseSpan(phase, Phase(phase).label, start, None, None))
    return spans


def engagement_activity(*, engagement: Engagement, client_view: bool = False, limit: int = 30) -> list[Activity]:
    qs = engagement.activities.select_related("actor")
    if client_view:
        qs = qs.filter(client_visible=True)
    return list(qs[:limit])


def risk_heatmap(*, engagement: Engagement) -> list[tuple[int, list[tuple[int, int, int]]]]:
    """Open risks counted per cell, rows from likelihood 5 down to 1: ``[(likelihood, [(impact, count, score)])]``."""
    counts = defaultdict(int)
    for row in (
        Risk.objects.filter(engagement=engagement)
        .exclude(status=Risk.Status.CLOSED)
        .values("likelihood", "impact")
        .annotate(n=Count("id"))
    ):
        counts[(row["likelihood"], row["impact"])] = row["n"]
    return [(lk, [(im, counts[(lk, im)], lk * im) for im in range(1, 6)]) for lk in range(5, 0, -1)]


def kpi_list(*, engagement: Engagement) -> list[Any]:
    return list(
        engagement.kpis.prefetch_related(
            Prefetch("measurements", queryset=KpiMeasurement.objects.order_by("measured_on", "id"))
        )
    )


def effort_summary(*, engagement: Engagement) -> dict[str, Any]:
    entries = engagement.time_entries.select_related("user")
    by_person = list(
        entries.values("user__email", "user__first_name", "user__last_name")
        .annotate(hours=Sum("hours"))
        .order_by("-hours")
    )
    by_phase = {row["phase"]: row["hours"] for row in entries.values("phase").annotate(hours=Sum("hours"))}
    weekly = (
        entries.annotate(week=TruncWeek("date"))
        .values("week", "user__first_name", "user__email")
        .annotate(hours=Sum("hours"))
        .order_by("week")
    )
    return {
        "weekly": list(weekly),
        "entries": list(entries[:50]),
        "by_person": by_person,
        "by_phase": [(Phase(p).label, by_phase.get(p, 0)) for p in Phase.values],
        "total": sum(by_phase.values()) if by_phase else 0,
    }
