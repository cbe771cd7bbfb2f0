"""KPIs and their measurements (by hand, from CSV, or from a metric provider), and time entries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from engagements.metrics import get_provider
from engagements.models import Engagement, Kpi, KpiMeasurement, TimeEntry
from engagements.services._common import require_editor
from engagements.services.activity import activity_record

CSV_MAX_ROWS = 5000


@transaction.atomic
def kpi_create(
    *,
    engagement: Engagement,
    actor: Any,
    name: str,
    tier: str = Kpi.Tier.OPERATIONAL,
    unit: str = "",
    direction: str = Kpi.Direction.HIGHER,
    baseline: float | None = None,
    target: float | None = None,
    provider_key: str = "",
    provider_params: dict[str, Any] | None = None,
) -> Kpi:
    require_editor(engagement, actor)
    kpi = Kpi(
        engagement=engagement,
        name=name,
        tier=tier,
        unit=unit,
        direction=direction,
        baseline=baseline,
        target=target,
        provider_key=provider_key,
        provider_params=provider_params or {},
    )
    kpi.full_clean()
    kpi.save()
    activity_record(engagement=engagement, actor=actor, verb="added the KPI", target=name)
    return kpi


def _upsert(kpi: Kpi, *, measured_on: dt.date, value: float, source: str, note: str, actor: Any) -> KpiMeasurement:
    measurement, _ = KpiMeasurement.objects.update_or_create(
        kpi=kpi,
        measured_on=measured_on,
        defaults={"value": value, "source": source, "note": note, "recorded_by": actor},
    )
    return measurement


@transaction.atomic
def kpi_measurement_record(
    *, kpi: Kpi, actor: Any, measured_on: dt.date, value: float, note: str = ""
) -> KpiMeasurement:
    """Record a value by hand; a second value on the same day replaces the first."""
    require_editor(kpi.engagement, actor)
    measurement = KpiMeasurement(kpi=kpi, measured_on=measured_on, value=value, note=note)
    measurement.full_clean(validate_unique=False, validate_constraints=False)
    measurement = _upsert(kpi, measured_on=measured_on, value=value, source="manual", note=note, actor=actor)
    activity_record(engagement=kpi.engagement, actor=actor, verb=f"measured {value:g} {kpi.unit} for", target=kpi.name)
    return measurement


def _parse_csv(text: str) -> list[tuple[dt.date, float, str]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in (reader.fieldnames or [])}
    if not {"date", "value"} <= fields:
        raise ValidationError("The CSV needs a header row with the columns date and value (and optionally note).")
    rows, errors = [], []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            day = dt.date.fromisoformat(row["date"])
        except ValueError:
            errors.append(f"line {number}: “{row['date']}” is not a date (use YYYY-MM-DD)")
            continue
        try:
            value = float(Decimal(row["value"].replace(",", "")))
        except InvalidOperation:
            errors.append(f"line {number}: “{row['value']}” is not a number")
            continue
        rows.append((day, value, row.get("note", "")[:300]))
        if len(rows) > CSV_MAX_ROWS:
            raise ValidationError(f"The CSV has more than {CSV_MAX_ROWS} rows; split it into smaller files.")
    if errors:
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise ValidationError(f"Nothing was imported. Fix these rows and upload again: {shown}.")
    if not rows:
        raise ValidationError("The CSV has a header but no rows.")
    return rows


@transaction.atomic
def kpi_measurements_import_csv(*, kpi: Kpi, actor: Any, text: str) -> int:
    """Import ``date,value[,note]`` rows; all or nothing, and re-importing the same file changes nothing."""
    require_editor(kpi.engagement, actor)
    rows = _parse_csv(text)
    for day, value, note in rows:
        _upsert(kpi, measured_on=day, value=value, source="csv", note=note, actor=actor)
    activity_record(
        engagement=kpi.engagement, actor=actor, verb=f"imported {len(rows)} measurements for", target=kpi.name
    )
    return len(rows)


@transaction.atomic
def kpi_measure_from_provider(*, kpi: Kpi, actor: Any = None) -> KpiMeasurement:
    """Take today's value of a provider-backed KPI from its metric provider."""
    provider = get_provider(kpi.provider_key) if kpi.provider_key else None
    if provider is None:
        raise ValidationError(f"The KPI {kpi.name} has no available metric provider ({kpi.provider_key or 'none'}).")
    result = provider.compute(kpi.engagement, kpi.provider_params)
    if result.value is None:
        raise ValidationError(f"{provider.label} has no value yet: {result.detail or 'no evidence recorded'}.")
    measurement = _upsert(
        kpi,
        measured_on=timezone.localdate(),
        value=result.value,
        source="provider",
        note=result.detail[:300],
        actor=actor,
    )
    activity_record(
        engagement=kpi.engagement, actor=actor, verb="took a measurement from its provider for", target=kpi.name
    )
    return measurement


@transaction.atomic
def time_entry_create(
    *,
    engagement: Engagement,
    actor: Any,
    date: dt.date,
    hours: Decimal,
    phase: str | None = None,
    note: str = "",
) -> TimeEntry:
    """Log the actor's own hours on an engagement; the phase defaults to the current one."""
    require_editor(engagement, actor)
    entry = TimeEntry(
        engagement=engagement, user=actor, date=date, hours=hours, phase=phase or engagement.phase, note=note
    )
    entry.full_clean()
    entry.save()
    activity_record(
        engagement=engagement,
        actor=actor,
        verb=f"logged {hours} h on",
        target=entry.get_phase_display(),
        client_visible=False,
    )
    return entry
