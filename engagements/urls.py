from __future__ import annotations

from django.urls import path

from engagements import views

app_name = "engagements"
urlpatterns = [
    path("", views.engagement_list, name="list"),
    path("<uuid:uuid>/", views.engagement_detail, name="detail"),
]
