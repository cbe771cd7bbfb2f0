from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config import views
from config.api import api
from config.metrics import metrics_view

admin.site.site_header = "FDE Toolkit administration"
admin.site.site_title = "FDE Toolkit"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("health/badge/", views.health_badge, name="health-badge"),
    path("accounts/", include("accounts.urls")),
    path("engagements/", include("engagements.urls")),
    path("jobs/", include("jobs.urls")),
    path("rag/", include("rag.urls")),
    path("deployments/", include("deployments.urls")),
    path("portal/", include("portal.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
