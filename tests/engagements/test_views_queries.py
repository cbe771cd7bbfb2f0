from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements.models import Engagement
from engagements.services import (
    decision_create,
    kpi_create,
    kpi_measurement_record,
    requirement_create,
    risk_create,
    signoff_record,
    stakeholder_create,
    time_entry_create,
)
from engagements.views.sections import SECTION_KEYS


def _add_records(engagement: Engagement, fde, n: int, start: int) -> None:
    for i in range(start, start + n):
        signoff_record(
            stakeholder=stakeholder_create(engagement=engagement, actor=fde, name=f"S{i}", role="it"), actor=fde
        )
        requirement_create(engagement=engagement, actor=fde, title=f"R{i}")
        risk_create(engagement=engagement, actor=fde, title=f"K{i}", likelihood=1 + i % 5, impact=1 + i % 4)
        decision_create(engagement=engagement, actor=fde, title=f"D{i}", decision="yes")
        kpi = kpi_create(engagement=engagement, actor=fde, name=f"KPI {i}", baseline=1, target=2)
        kpi_measurement_record(kpi=kpi, actor=fde, measured_on=dt.date(2026, 9, 1), value=1.5)
        time_entry_create(engagement=engagement, actor=fde, date=dt.date(2026, 9, 1 + i % 20), hours=Decimal("2"))


def _queries(http: HttpClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert http.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("section", sorted(SECTION_KEYS - {"overview"}))
def test_section_query_count_does_not_grow_with_its_rows(
    fde_http: HttpClient, engagement: Engagement, fde, section: str
) -> None:
    url = reverse("engagements:section", kwargs={"uuid": engagement.uuid, "section": section})
    _add_records(engagement, fde, 1, 0)
    few = _queries(fde_http, url)
    _add_records(engagement, fde, 12, 1)
    assert _queries(fde_http, url) == few


def test_portal_page_query_count_does_not_grow_with_kpis_and_people(
    member_http: HttpClient, engagement: Engagement, fde
) -> None:
    url = reverse("portal:engagement", kwargs={"uuid": engagement.uuid})
    _add_records(engagement, fde, 1, 0)
    few = _queries(member_http, url)
    _add_records(engagement, fde, 12, 1)
    assert _queries(member_http, url) == few
