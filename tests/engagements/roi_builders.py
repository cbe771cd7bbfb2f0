"""An engagement's ROI inputs as a client must see them without rates: shared by the ROI tests and the crawl."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from accounts.models import User
from engagements.models import Engagement


def roi_fill(engagement: Engagement, fde: User) -> Engagement:
    """An engagement with rates, costs, a valued KPI and a scenario: the figures a client must see without rates."""
    from engagements.services import kpi_create, kpi_measurement_record, time_entry_create
    from engagements.services.roi import (
        cost_item_create,
        hourly_rate_create,
        roi_assumptions_update,
        roi_scenario_save,
        valuation_rule_create,
    )

    engagement.currency = "EUR"
    engagement.save(update_fields=["currency"])
    roi_assumptions_update(
        engagement=engagement,
        actor=fde,
        start_month=dt.date(2026, 1, 1),
        go_live_month=dt.date(2026, 3, 1),
        horizon_months=12,
        volume_unit="claims",
        infra_basis="hours",
        infra_hourly_price=Decimal("3.17"),
        note="INTERNAL-ASSUMPTION-NOTE",
    )
    hourly_rate_create(
        engagement=engagement,
        actor=fde,
        hourly_rate=Decimal("187.35"),
        effective_from=dt.date(2026, 1, 1),
        note="INTERNAL-RATE-NOTE",
    )
    time_entry_create(engagement=engagement, actor=fde, date=dt.date(2026, 1, 12), hours=Decimal("7.5"))
    cost_item_create(
        engagement=engagement,
        actor=fde,
        name="Security review",
        amount=Decimal("4321.09"),
        starts_on=dt.date(2026, 2, 1),
        note="INTERNAL-COST-NOTE",
    )
    kpi = kpi_create(
        engagement=engagement, actor=fde, name="Handling time", unit="min", direction="lower", baseline=25, target=12
    )
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=dt.date(2026, 3, 5), value=19)
    valuation_rule_create(
        engagement=engagement,
        actor=fde,
        kpi=kpi,
        kind="hours_saved",
        unit_value=Decimal("43.21"),
        note="INTERNAL-RULE-NOTE",
    )
    roi_scenario_save(
        engagement=engagement, actor=fde, name="Expected", volume_per_month=Decimal(4000), note="INTERNAL-SCENARIO-NOTE"
    )
    return engagement
