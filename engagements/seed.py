"""Demo engagements for the seed: one fully worked engagement for Acme Logistics and a practice around it.

Everything is built through the services, then dated into the past so timelines and trends look lived-in.
Running the seed again changes nothing: each engagement is filled only when it is first created.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import User
from accounts.services import user_create_provider
from engagements.models import (
    Activity,
    Decision,
    Engagement,
    GateCriterion,
    Kpi,
    Phase,
    PhaseTransition,
    Requirement,
    Risk,
    RoiAssumptions,
)
from engagements.roi.calc import add_months, month_start
from engagements.services import (
    GateBlocked,
    criterion_check,
    decision_create,
    engagement_advance_phase,
    engagement_assign,
    engagement_create,
    engagement_update,
    gate_evaluate,
    kpi_create,
    kpi_measurements_import_csv,
    record_set_client_visibility,
    requirement_create,
    risk_create,
    signoff_record,
    stakeholder_create,
    time_entry_create,
)
from engagements.services.roi import (
    cost_item_create,
    hourly_rate_create,
    roi_assumptions_update,
    roi_scenarios_create_standard,
    valuation_rule_create,
)

ENGINEER_EMAIL = "riley.engineer@fde-toolkit.test"
TODAY = timezone.localdate()


def _engineer() -> User:
    # A second FDE so the board's team filter has someone to filter by; nobody logs in as them.
    return User.objects.filter(email=ENGINEER_EMAIL).first() or user_create_provider(
        email=ENGINEER_EMAIL, password=secrets.token_urlsafe(24), first_name="Riley", last_name="Engineer"
    )


def _walk(engagement: Engagement, lead: User, days_per_phase: list[int], *, days_in_phase: int = 3) -> None:
    """Advance through ``len(days_per_phase)`` gates, ticking checklists, and date each stay in the past."""
    started = timezone.now() - dt.timedelta(days=sum(days_per_phase) + days_in_phase)
    Engagement.objects.filter(pk=engagement.pk).update(created_at=started, phase_entered_at=started)
    moment = started
    for days in days_per_phase:
        engagement.refresh_from_db()
        for item in engagement.criteria.filter(phase=engagement.phase, kind=GateCriterion.Kind.CHECKLIST):
            criterion_check(criterion=item, actor=lead, checked=True)
        try:
            transition = engagement_advance_phase(
                engagement=engagement, actor=lead, note="Gate review with the sponsor"
            )
        except GateBlocked:
            transition = engagement_advance_phase(
                engagement=engagement,
                actor=lead,
                note="Gate review with the sponsor",
                override_reason="Evidence for this gate was gathered before the engagement moved into the toolkit.",
            )
        moment += dt.timedelta(days=days)
        PhaseTransition.objects.filter(pk=transition.pk).update(created_at=moment)
        Engagement.objects.filter(pk=engagement.pk).update(phase_entered_at=moment)
    Activity.objects.filter(engagement=engagement).update(created_at=moment)
    engagement.refresh_from_db()


def _fill_claims_triage(engagement: Engagement, lead: User, engineer: User) -> None:
    engagement_assign(engagement=engagement, user=engineer, role="engineer")
    stakeholder_create(
        engagement=engagement,
        actor=lead,
        name="Priya Raman",
        title="VP Claims Operations",
        role="sponsor",
        email="priya.raman@acme-logistics.test",
        influence=3,
        interest=3,
    )
    champion = stakeholder_create(
        engagement=engagement,
        actor=lead,
        name="Tom Okafor",
        title="Claims team lead",
        role="champion",
        influence=2,
        interest=3,
    )
    stakeholder_create(
        engagement=engagement, actor=lead, name="Lena Fischer", title="CISO", role="security", influence=3, interest=1
    )
    stakeholder_create(
        engagement=engagement,
        actor=lead,
        name="Marco Diaz",
        title="Claims agent",
        role="end_user",
        influence=1,
        interest=3,
    )
    stakeholder_create(
        engagement=engagement, actor=lead, name="Jo Park", title="Counsel", role="legal", influence=2, interest=1
    )
    for title, priority, status, criteria in [
        (
            "Answer from the policy library with citations",
            "must",
            "in_progress",
            "Every answer cites the clause it relies on; agents can open the source.",
        ),
        ("Classify claim type and urgency", "must", "accepted", "95% agreement with senior agents on 200 past claims."),
        (
            "Abstain when the policies do not cover the case",
            "must",
            "accepted",
            "On 50 out-of-scope claims the assistant says it cannot answer.",
        ),
        ("Draft the reply e-mail to the customer", "should", "proposed", ""),
        (
            "Single sign-on with Acme's identity provider",
            "should",
            "proposed",
            "Agents sign in with their Acme account.",
        ),
        ("Multilingual claims (German, Polish)", "could", "proposed", ""),
        ("Automatic payout decisions", "wont", "dropped", ""),
    ]:
        requirement_create(
            engagement=engagement,
            actor=lead,
            title=title,
            priority=priority,
            status=status,
            acceptance_criteria=criteria,
        )
    for title, likelihood, impact, owner, mitigation, status in [
        (
            "Carrier contracts are scanned PDFs",
            4,
            3,
            "Tom Okafor",
            "OCR pass before ingestion; spot-check 20 files.",
            "mitigating",
        ),
        (
            "Personal data in claim e-mails",
            3,
            5,
            "Lena Fischer",
            "Redact before indexing; data stays in Acme's VPC.",
            "open",
        ),
        (
            "Agents do not trust generated answers",
            3,
            4,
            "Priya Raman",
            "Citations on every answer; weekly feedback review.",
            "open",
        ),
        ("GPU capacity for peak season", 2, 4, "Dana Lead", "Benchmark at 3× expected load before Ship.", "open"),
        ("Policy library out of date", 2, 2, "Tom Okafor", "Monthly sync from the document system.", "closed"),
    ]:
        risk_create(
            engagement=engagement,
            actor=lead,
            title=title,
            likelihood=likelihood,
            impact=impact,
            owner=owner,
            mitigation=mitigation,
            status=status,
        )
    for title, context, decision, consequences, ago in [
        (
            "Start with damage claims only",
            "Damage claims are 60% of volume and have the clearest policies.",
            "The prototype covers damage claims; delay claims follow in Iterate.",
            "Faster first result; a second round is needed.",
            40,
        ),
        (
            "Keep data in Acme's cloud account",
            "Security requires claim data to stay in Acme's tenancy.",
            "Deploy the model server and the index in Acme's VPC.",
            "We need access to their cloud account by week 3.",
            33,
        ),
        (
            "Open-weight model served with vLLM",
            "Per-token API pricing did not fit the volume.",
            "Serve an open-weight model with vLLM on Acme's GPUs.",
            "We own latency tuning and capacity planning.",
            20,
        ),
    ]:
        decision_create(
            engagement=engagement,
            actor=lead,
            title=title,
            context=context,
            decision=decision,
            consequences=consequences,
            decided_on=TODAY - dt.timedelta(days=ago),
        )
    handling = kpi_create(
        engagement=engagement,
        actor=lead,
        name="Average handling time",
        tier="operational",
        unit="min",
        direction="lower",
        baseline=25,
        target=12,
    )
    accuracy = kpi_create(
        engagement=engagement,
        actor=lead,
        name="Triage accuracy",
        tier="business",
        unit="%",
        direction="higher",
        baseline=81,
        target=95,
    )
    savings = kpi_create(
        engagement=engagement,
        actor=lead,
        name="Monthly handling cost saved",
        tier="financial",
        unit="EUR",
        direction="higher",
        baseline=0,
        target=42000,
    )
    weeks = [(TODAY - dt.timedelta(weeks=13 - week), 1 - math.exp(-week / 6), week) for week in range(14)]
    # Weekly figures from the client's reporting, brought in the way an FDE would: a CSV export per KPI.
    for kpi, value in (
        (handling, lambda p, w: round(25 - 9 * p + (w % 3) * 0.4, 1)),
        (accuracy, lambda p, w: round(81 + 10 * p - (w % 2) * 0.6, 1)),
        (savings, lambda p, w: round(26000 * p, -2)),
    ):
        rows = "\n".join(f"{day.isoformat()},{value(p, w)}" for day, p, w in weeks)
        kpi_measurements_import_csv(kpi=kpi, actor=lead, text=f"date,value\n{rows}\n")
    for week in range(8):
        for weekday, person, hours in ((0, engineer, "8"), (1, lead, "6"), (2, engineer, "7.5"), (3, engineer, "8")):
            time_entry_create(
                engagement=engagement,
                actor=person,
                date=TODAY - dt.timedelta(weeks=8 - week, days=-weekday),
                hours=Decimal(hours),
                phase="discover" if week < 3 else "prototype",
                note="Workshops and data mapping" if week < 3 else "Prototype build and tuning",
            )
    _walk(engagement, lead, [34], days_in_phase=26)
    criterion_check(
        criterion=engagement.criteria.get(phase=Phase.PROTOTYPE, kind="checklist"), actor=lead, checked=True
    )
    signoff_record(stakeholder=champion, actor=lead)


def _fill_roi(engagement: Engagement, lead: User, engineer: User) -> None:
    """A realistic business case: Acme's rate card, the costs besides FDE time, two valued KPIs, three scenarios.

    Acme pays in euros; claims agents cost about EUR 42 an hour fully loaded and a misrouted claim about EUR 35.
    """
    if RoiAssumptions.objects.filter(engagement=engagement).exists():
        return
    engagement_update(engagement=engagement, actor=lead, currency="EUR")
    start = engagement.start_date or TODAY
    go_live = month_start(engagement.target_date or TODAY)
    roi_assumptions_update(
        engagement=engagement,
        actor=lead,
        start_month=month_start(start),
        go_live_month=go_live,
        horizon_months=24,
        volume_unit="claims",
        build_hours_per_month=Decimal(90),
        support_hours_per_month=Decimal(24),
        tokens_in_per_unit=3500,
        tokens_out_per_unit=450,
        infra_basis=RoiAssumptions.InfraBasis.HOURS,
        infra_hourly_price=Decimal("2.40"),
        note="Rates from the 2026 statement of work; one L4 GPU in Acme's cloud account until the benchmarks say more.",
    )
    hourly_rate_create(engagement=engagement, actor=lead, hourly_rate=Decimal(140), effective_from=start)
    hourly_rate_create(engagement=engagement, actor=lead, role="lead", hourly_rate=Decimal(165), effective_from=start)
    hourly_rate_create(
        engagement=engagement,
        actor=lead,
        user=engineer,
        hourly_rate=Decimal(150),
        effective_from=TODAY - dt.timedelta(days=30),
        note="Senior rate from the contract's second month.",
    )
    for name, amount, day, recurring in (
        ("Security review and penetration test", "9500", TODAY - dt.timedelta(days=20), False),
        ("Integration with the claims system", "18000", add_months(go_live, -1), False),
        ("Vector database and monitoring", "650", go_live, True),
    ):
        cost_item_create(
            engagement=engagement,
            actor=lead,
            name=name,
            amount=Decimal(amount),
            starts_on=day,
            category="recurring" if recurring else "one_off",
        )
    kpis = {kpi.name: kpi for kpi in Kpi.objects.filter(engagement=engagement)}
    for kpi_name, kind, value, note in (
        ("Average handling time", "hours_saved", "42", "Agent cost per hour, fully loaded, from Acme finance."),
        ("Triage accuracy", "error_cost_avoided", "35", "Re-work and delay penalty per misrouted claim."),
    ):
        if kpi_name in kpis:
            valuation_rule_create(
                engagement=engagement, actor=lead, kpi=kpis[kpi_name], kind=kind, unit_value=Decimal(value), note=note
            )
    roi_scenarios_create_standard(engagement=engagement, actor=lead, volume_per_month=Decimal(4200))


OTHERS = [
    (
        "demo_client",
        "Carrier invoice matching",
        "Match carrier invoices to shipments and flag overcharges.",
        [21, 30, 25],
        "on_track",
        "",
    ),
    (
        "demo_client",
        "Driver handbook assistant",
        "Answer drivers' questions from the handbook on their phones.",
        [],
        "at_risk",
        "Sponsor changed roles; new sponsor not yet confirmed.",
    ),
    (
        "demo_client",
        "Customs document extraction",
        "Read customs forms and fill the declaration system.",
        [18, 26, 20, 35],
        "on_track",
        "",
    ),
    (
        "other_client",
        "Clinical policy search",
        "Nurses search 4,000 pages of clinical policy to answer routine questions.",
        [20],
        "on_track",
        "",
    ),
    (
        "other_client",
        "Discharge summary drafting",
        "Draft discharge summaries from the ward notes for doctors to check.",
        [25, 40],
        "off_track",
        "Faithfulness below 0.8 on the last two eval runs.",
    ),
    (
        "other_client",
        "Prior authorisation triage",
        "Sort prior authorisation requests by urgency and completeness.",
        [30, 22, 28, 18],
        "on_track",
        "",
    ),
]


def _share_with_client(engagement: Engagement, lead: User) -> None:
    """Mark what the sponsor should see in the portal: the gate's checklist and evidence, the must-have
    requirements, the larger risks and every decision; the rest stays internal. Once per engagement."""
    kinds: list[Any] = [GateCriterion, Requirement, Risk, Decision]
    if any(m.objects.filter(engagement=engagement, visible_to_client=True).exists() for m in kinds):
        return
    shown: list[Any] = [
        *engagement.criteria.exclude(label__icontains="security"),
        *engagement.requirements.filter(priority="must"),
        *[r for r in engagement.risks.all() if r.score >= 8],
        *engagement.decisions.all(),
    ]
    for record in shown:
        record_set_client_visibility(record=record, actor=lead, visible=True)


def _ensure(client: Any, name: str, lead: User, **fields: Any) -> tuple[Engagement, bool]:
    """The named engagement, and whether it still needs filling (new, or an empty one from an earlier seed)."""
    engagement = Engagement.objects.filter(client=client, name=name).first()
    if engagement is None:
        return engagement_create(client=client, name=name, lead=lead, **fields), True
    untouched = not engagement.stakeholders.exists() and not engagement.transitions.exists()
    if untouched:
        engagement_assign(engagement=engagement, user=lead, role="lead")
        engagement_update(engagement=engagement, actor=lead, **fields)
    return engagement, untouched


def seed(people: dict[str, Any]) -> dict[str, Any]:
    lead = people["lead"]
    engineer = _engineer()
    created: dict[str, Engagement] = {}
    demo, fill = _ensure(
        people["demo_client"],
        "Claims triage assistant",
        lead,
        problem_statement=(
            "Damage and delay claims arrive by e-mail and take agents 25 minutes each to triage against "
            "contracts and carrier policies. Ground answers in the policy library and cut handling time."
        ),
        business_objective="Halve claim handling time without lowering triage accuracy, before peak season.",
        success_criteria="Handling time ≤ 12 min, triage accuracy ≥ 95%, agents find 4 of 5 answers useful.",
        start_date=TODAY - dt.timedelta(days=60),
        target_date=TODAY + dt.timedelta(days=75),
    )
    if fill:
        _fill_claims_triage(demo, lead, engineer)
    _fill_roi(demo, lead, engineer)
    _share_with_client(demo, lead)
    for client_key, name, problem, days, health, reason in OTHERS:
        current = 5 + 9 * len(created)
        total = sum(days) + current
        engagement, fill = _ensure(
            people[client_key],
            name,
            lead,
            problem_statement=problem,
            health=health,
            health_reason=reason,
            start_date=TODAY - dt.timedelta(days=total),
            target_date=TODAY + dt.timedelta(days=120 - total // 2),
        )
        if fill:
            engagement_assign(engagement=engagement, user=engineer, role="engineer")
            stakeholder_create(
                engagement=engagement, actor=lead, name="Executive sponsor", role="sponsor", influence=3, interest=2
            )
            requirement_create(
                engagement=engagement,
                actor=lead,
                title=problem.rstrip("."),
                priority="must",
                status="done" if len(days) >= 3 else "accepted",
                acceptance_criteria="Agreed with the sponsor at the Discover workshop.",
            )
            _walk(engagement, lead, days, days_in_phase=current)
        created[name] = engagement
    for engagement in [demo, *created.values()]:
        gate_evaluate(engagement=engagement)  # so the board's gate progress is current from the start
    return {"demo_engagement": demo, "other_engagement": created["Clinical policy search"]}
