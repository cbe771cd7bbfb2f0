from __future__ import annotations

from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("engagements/<uuid:uuid>/", views.engagement, name="engagement"),
]
