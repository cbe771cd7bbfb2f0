from __future__ import annotations

from django.urls import path

from engagements.views import board, engagement, gate, records, review, roi

app_name = "engagements"
urlpatterns = [
    path("", board.board, name="list"),
    path("list/", board.table, name="table"),
    path("new/", engagement.engagement_create, name="create"),
    path("roi/", roi.roi_portfolio_view, name="roi_portfolio"),
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
    path("<uuid:uuid>/criteria/<uuid:item>/visibility/", gate.criterion_visibility, name="criterion_visibility"),
    path("<uuid:uuid>/criteria/<uuid:item>/delete/", gate.criterion_delete, name="criterion_delete"),
    path("<uuid:uuid>/stakeholders/<uuid:item>/sign-off/", records.signoff_create, name="signoff"),
    path("<uuid:uuid>/kpis/<uuid:item>/measure/", records.kpi_measure, name="kpi_measure"),
    path("<uuid:uuid>/kpis/<uuid:item>/import/", records.kpi_import, name="kpi_import"),
    path("<uuid:uuid>/roi/", roi.roi_results, name="roi"),
    path("<uuid:uuid>/roi/preview/", roi.roi_preview, name="roi_preview"),
    path("<uuid:uuid>/roi/compare/", roi.roi_compare, name="roi_compare"),
    path("<uuid:uuid>/roi/inputs/", roi.roi_inputs, name="roi_inputs"),
    path("<uuid:uuid>/roi/assumptions/", roi.roi_assumptions, name="roi_assumptions"),
    path("<uuid:uuid>/roi/scenarios/", roi.roi_scenario_save, name="roi_scenario_save"),
    path("<uuid:uuid>/roi/scenarios/standard/", roi.roi_scenarios_standard, name="roi_scenarios_standard"),
    path("<uuid:uuid>/roi/scenarios/<uuid:item>/<slug:action>/", roi.roi_scenario_action, name="roi_scenario_action"),
    path("<uuid:uuid>/roi/rates/<uuid:item>/edit/", roi.roi_rate_update, name="roi_rate_update"),
    path("<uuid:uuid>/roi/<slug:kind>/new/", roi.roi_input_create, name="roi_input_create"),
    path("<uuid:uuid>/roi/<slug:kind>/<uuid:item>/delete/", roi.roi_input_delete, name="roi_input_delete"),
    path("<uuid:uuid>/review-packs/", review.review_packs, name="review_packs"),
    path("<uuid:uuid>/review-packs/<uuid:item>/", review.review_pack, name="review_pack"),
    path("<uuid:uuid>/review-packs/<uuid:item>/pdf/", review.review_pack_pdf, name="review_pack_pdf"),
    path("<uuid:uuid>/<slug:section>/", engagement.engagement_section, name="section"),
    path("<uuid:uuid>/<slug:section>/new/", records.record_create, name="record_create"),
    path("<uuid:uuid>/<slug:section>/<uuid:item>/delete/", records.record_delete, name="record_delete"),
    path("<uuid:uuid>/<slug:section>/<uuid:item>/status/", records.record_status, name="record_status"),
    path("<uuid:uuid>/<slug:section>/<uuid:item>/visibility/", records.record_visibility, name="record_visibility"),
]
