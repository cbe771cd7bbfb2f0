from __future__ import annotations

from django.urls import include, path

from rag import views

app_name = "rag"
urlpatterns = [
    path("", views.index, name="index"),
    path("", include("rag.prototypes.urls")),
]
