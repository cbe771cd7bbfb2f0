from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import Client as HttpClient
from django.urls import reverse

from engagements.models import Engagement
from engagements.services import (
    engagement_archive,
    kpi_create,
    kpi_measurement_record,
    record_set_client_visibility,
    stakeholder_create,
    time_entry_create,
)


def _url(engagement: Engagement) -> str:
    return reverse("portal:engagement", kwargs={"uuid": engagement.uuid})


def test_client_member_sees_phase_gate_kpis_and_people(member_http: HttpClient, engagement: Engagement, fde) -> None:
    stakeholder_create(engagement=engagement, actor=fde, name="Sam Sponsor", role="sponsor")
    kpi = kpi_create(engagement=engagement, actor=fde, name="Handling time", unit="min", baseline=25, target=12)
    kpi_measurement_record(kpi=kpi, actor=fde, measured_on=dt.date(2026, 10, 1), value=20)
    shown = engagement.criteria.get(label="Data access granted")
    record_set_client_visibility(record=shown, actor=fde, visible=True)
    response = member_http.get(_url(engagement))
    page = response.content.decode()
    assert response.status_code == 200
    assert "To leave Discover" in page and "Data access granted" in page
    assert "Security review scheduled" not in page  # a default criterion nobody marked visible
    assert "Handling time" in page and "plotly" in page
    assert "Sam Sponsor" in page


def test_client_member_does_not_see_internal_activity_or_workspace_links(
    member_http: HttpClient, engagement: Engagement, fde
) -> None:
    time_entry_create(engagement=engagement, actor=fde, date=dt.date(2026, 10, 1), hours=Decimal(3))
    engagement_archive(engagement=engagement, actor=fde, archived=False)
    page = member_http.get(_url(engagement)).content.decode()
    assert "logged 3" not in page and "restored" not in page
    assert f'href="{reverse("engagements:detail", kwargs={"uuid": engagement.uuid})}' not in page


def test_outsider_gets_404_on_the_portal_engagement(outsider_http: HttpClient, engagement: Engagement) -> None:
    assert outsider_http.get(_url(engagement)).status_code == 404


def test_owning_fde_previews_the_portal_page(fde_http: HttpClient, engagement: Engagement) -> None:
    response = fde_http.get(_url(engagement))
    assert response.status_code == 200 and "Portal preview" in response.content.decode()
