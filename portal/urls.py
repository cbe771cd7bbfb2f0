from __future__ import annotations

from django.urls import path

from portal import views
from rag.prototypes import views_portal as prototypes

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("engagements/<uuid:uuid>/", views.engagement, name="engagement"),
    path("prototypes/", prototypes.prototype_list, name="prototypes"),
    path("prototypes/<uuid:uuid>/", prototypes.prototype, name="prototype"),
    path("prototypes/<uuid:uuid>/ask/", prototypes.prototype_ask, name="prototype-ask"),
    path("answers/<uuid:uuid>/", prototypes.answer, name="answer"),
    path("answers/<uuid:uuid>/stream/", prototypes.answer_stream, name="answer-stream"),
    path("answers/<uuid:uuid>/citations/<int:n>/", prototypes.answer_citation, name="answer-citation"),
    path("answers/<uuid:uuid>/citations/<int:n>/document/", prototypes.answer_document, name="answer-document"),
    path("answers/<uuid:uuid>/feedback/", prototypes.answer_feedback, name="answer-feedback"),
]
