from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from engagements.models import Engagement, KpiMeasurement
from engagements.services import kpi_create, kpi_measurement_record, kpi_measurements_import_csv, time_entry_create


@pytest.fixture
def kpi(engagement: Engagement, fde):
    return kpi_create(
        engagement=engagement, actor=fde, name="Handling time", unit="min", direction="lower", baseline=25, target=12
    )


def test_csv_import_is_all_or_nothing_and_says_which_rows_are_wrong(kpi, fde) -> None:
    text = "date,value\n2026-09-01,24\n2026-09-08,twenty\n01/09/2026,22\n"
    with pytest.raises(ValidationError) as error:
        kpi_measurements_import_csv(kpi=kpi, actor=fde, text=text)
    message = " ".join(error.value.messages)
    assert "line 3: “twenty” is not a number" in message and "line 4: “01/09/2026” is not a date" in message
    assert not KpiMeasurement.objects.exists()


def test_csv_import_without_the_columns_is_refused(kpi, fde) -> None:
    with pytest.raises(ValidationError, match="date and value"):
        kpi_measurements_import_csv(kpi=kpi, actor=fde, text="day;amount\n2026-09-01;3\n")


def test_reimporting_the_same_csv_changes_nothing(kpi, fde) -> None:
    text = "date,value,note\n2026-09-01,24,first week\n2026-09-08,21.5,\n"
    assert kpi_measurements_import_csv(kpi=kpi, actor=fde, text=text) == 2
    kpi_measurements_import_csv(kpi=kpi, actor=fde, text=text)
    assert list(kpi.measurements.values_list("value", "source")) == [(24.0, "csv"), (21.5, "csv")]


def test_a_second_value_on_the_same_day_replaces_the_first(kpi, fde) -> None:
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=dt.date(2026, 9, 1), value=24)
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=dt.date(2026, 9, 1), value=23)
    assert list(kpi.measurements.values_list("value", flat=True)) == [23.0]


def test_kpi_knows_whether_a_value_meets_its_target(kpi) -> None:
    assert kpi.meets_target(11) is True and kpi.meets_target(13) is False


def test_time_entry_defaults_to_the_current_phase_and_rejects_impossible_hours(engagement: Engagement, fde) -> None:
    entry = time_entry_create(engagement=engagement, actor=fde, date=dt.date(2026, 9, 1), hours=Decimal("7.5"))
    assert entry.phase == "discover" and entry.user == fde
    with pytest.raises(ValidationError, match="less than or equal to 24"):
        time_entry_create(engagement=engagement, actor=fde, date=dt.date(2026, 9, 1), hours=Decimal("30"))
