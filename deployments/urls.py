from __future__ import annotations

from django.urls import path

from deployments import views

app_name = "deployments"
urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_create_view, name="create"),
    path("planner/", views.planner, name="planner"),
    path("hardware/", views.hardware_list, name="hardware"),
    path("hardware/<uuid:uuid>/", views.hardware_edit, name="hardware-edit"),
    path("config-shape/", views.deployment_shape_from_config, name="config-shape"),
    path("<uuid:uuid>/", views.deployment_detail, name="detail"),
    path("<uuid:uuid>/edit/", views.deployment_edit, name="edit"),
    path("<uuid:uuid>/prefix-cache/", views.deployment_prefix_cache, name="prefix_cache"),
    path("applications/", views.application_list, name="applications"),
    path("applications/<uuid:uuid>/", views.application_detail, name="application"),
    path("applications/<uuid:uuid>/keys/<uuid:key>/revoke/", views.key_revoke, name="key_revoke"),
    path("<uuid:uuid>/check/", views.deployment_check_now, name="check"),
    path("<uuid:uuid>/webhook/", views.alert_webhook_save, name="webhook"),
    path("<uuid:uuid>/plan/", views.deployment_plan, name="plan"),
    path("<uuid:uuid>/launch/<str:kind>/", views.deployment_launch_file, name="launch-file"),
    path("<uuid:uuid>/load-tests/", views.loadtest_list, name="loadtests"),
    path("<uuid:uuid>/load-tests/import/", views.loadtest_import_view, name="loadtest-import"),
    path("<uuid:uuid>/capacity/", views.capacity_plan, name="capacity"),
    path("load-tests/compare/", views.loadtest_compare, name="loadtest-compare"),
    path("load-tests/<uuid:uuid>/", views.loadtest_detail, name="loadtest"),
    path("load-tests/<uuid:uuid>/live/", views.loadtest_live, name="loadtest-live"),
    path("load-tests/<uuid:uuid>/export/", views.loadtest_export, name="loadtest-export"),
    path("api-prices/", views.api_price_list, name="api-prices"),
    path("api-prices/<uuid:uuid>/", views.api_price_edit, name="api-price-edit"),
]
