from __future__ import annotations

from django.urls import path

from engagements.views import board, engagement, gate, records

app_name = "engagements"
urlpatterns = [
    path("", board.board, name="list"),
    path("list/", board.table, name="table"),
    path("new/", engagement.engagement_create, name="create"),
    path("<uuid:uuid>/", engagement.engagement_detail, name="detail"),
    path("<uuid:uuid>/edit/", engagement.engagement_edit, name="edit"),
    path("<uuid:uuid>/archive/", engagement.engagement_archive, name="archive"),
    path("<uuid:uuid>/team/", engagement.engagement_assign, name="assign"),
    path("<uuid:uuid>/team/remove/", engagement.engagement_unassign, name="unassign"),
    path("<uuid:uuid>/gate/", gate.gate_panel, name="gate"),
    path("<uuid:uuid>/advance/", gate.advance, name="advance"),
    path("<uuid:uuid>/back/", gate.go_back, name="back"),
    path("<uuid:uuid>/criteria/new/", gate.criterion_create, name="criterion_create"),
    path("<uuid:uuid>/criteria/<uuid:item>/check/", gate.criterion_check, name="criterion_check"),
    path("<uuid:uuid>/criteria/<uuid:item>/edit/", gate.criterion_update, name="criterion_update"),
    path("<uuid:uuid>/criteria/<uuid:item>/delete/", gate.criterion_delete, name="criterion_delete"),
    path("<uuid:uuid>/stakeholders/<uuid:item>/sign-off/", records.signoff_create, name="signoff"),
    path("<uuid:uuid>/kpis/<uuid:item>/measure/", records.kpi_measure, name="kpi_measure"),
    path("<uuid:uuid>/kpis/<uuid:item>/import/", records.kpi_import, name="kpi_import"),
    path("<uuid:uuid>/<slug:section>/", engagement.engagement_section, name="section"),
    path("<uuid:uuid>/<slug:section>/new/", records.record_create, name="record_create"),
    path("<uuid:uuid>/<slug:section>/<uuid:item>/delete/", records.record_delete, name="record_delete"),
    path("<uuid:uuid>/<slug:section>/<uuid:item>/status/", records.record_status, name="record_status"),
]
