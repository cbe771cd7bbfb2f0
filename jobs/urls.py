from __future__ import annotations

from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("<slug:kind>/<uuid:uuid>/", views.progress, name="progress"),
    path("<slug:kind>/<uuid:uuid>/cancel/", views.cancel, name="cancel"),
    path("<slug:kind>/<uuid:uuid>/retry/", views.retry, name="retry"),
]
