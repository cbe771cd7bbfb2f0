from __future__ import annotations

from typing import Any

from accounts import seed as accounts_seed
from engagements import seed
from engagements.models import Activity, Engagement, KpiMeasurement, Phase, PhaseTransition, Stakeholder, TimeEntry


def _counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Engagement, Stakeholder, KpiMeasurement, TimeEntry, PhaseTransition, Activity)
    )


def test_seed_fills_the_demo_engagement_and_is_idempotent(db: Any) -> None:
    people: dict[str, Any] = accounts_seed.seed()
    data = seed.seed(people)
    demo = data["demo_engagement"]
    assert demo.name == "Claims triage assistant" and demo.client == people["demo_client"]
    assert demo.phase == Phase.PROTOTYPE
    assert demo.assignments.get(role="lead").user == people["lead"]
    assert demo.stakeholders.count() >= 5 and demo.requirements.count() >= 5 and demo.risks.count() >= 4
    assert demo.decisions.exists() and demo.time_entries.exists()
    assert KpiMeasurement.objects.filter(kpi__engagement=demo).count() >= 30
    assert not demo.transitions.get().is_override  # Discover's gate was genuinely met
    phases = set(Engagement.objects.values_list("phase", flat=True))
    assert len(phases) >= 4
    assert set(Engagement.objects.values_list("client", flat=True)) == {
        people["demo_client"].pk,
        people["other_client"].pk,
    }
    before = _counts()
    seed.seed(accounts_seed.seed())
    assert _counts() == before


def test_seed_fills_an_empty_engagement_left_by_an_earlier_seed(db: Any) -> None:
    from engagements.services import engagement_create

    people: dict[str, Any] = accounts_seed.seed()
    engagement_create(client=people["demo_client"], name="Claims triage assistant", lead=people["lead"])
    demo = seed.seed(people)["demo_engagement"]
    assert demo.phase == Phase.PROTOTYPE and demo.stakeholders.exists()
    assert Engagement.objects.filter(name="Claims triage assistant").count() == 1


def test_seed_gives_the_demo_engagement_a_realistic_roi(db: Any) -> None:
    from engagements.roi.inputs import roi_bundle
    from engagements.roi.selectors import roi_compute

    demo = seed.seed(accounts_seed.seed())["demo_engagement"]
    bundle = roi_bundle(engagement=demo)
    assert demo.currency == "EUR"
    assert {s.name for s in bundle.scenarios} == {"Conservative", "Expected", "Optimistic"}
    assert bundle.primary is not None and bundle.primary.name == "Expected"
    assert len(bundle.rules) == 2 and demo.hourly_rates.count() == 3 and demo.cost_items.count() == 3
    results = {s.name: roi_compute(bundle=bundle, scenario=s) for s in bundle.scenarios}
    assert not any(r.warnings for r in results.values()), {n: r.warnings for n, r in results.items()}
    conservative, expected, optimistic = (results[n] for n in ("Conservative", "Expected", "Optimistic"))
    assert conservative.net < expected.net < optimistic.net
    assert expected.payback_months is not None and expected.payback_months <= 12  # the Ship gate's threshold
    assert all(r.total_investment > 100_000 for r in results.values())
