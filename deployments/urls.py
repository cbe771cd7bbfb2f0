from __future__ import annotations

from django.urls import path

from deployments import views

app_name = "deployments"
urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_create, name="create"),
    path("<uuid:uuid>/", views.deployment_detail, name="detail"),
    path("<uuid:uuid>/edit/", views.deployment_edit, name="edit"),
    path("<uuid:uuid>/prefix-cache/", views.deployment_prefix_cache, name="prefix_cache"),
    path("applications/", views.application_list, name="applications"),
    path("applications/<uuid:uuid>/", views.application_detail, name="application"),
    path("applications/<uuid:uuid>/keys/<uuid:key>/revoke/", views.key_revoke, name="key_revoke"),
]
