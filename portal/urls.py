from __future__ import annotations

from django.urls import path

from portal import review, views
from rag.prototypes import views_portal as prototypes

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("engagements/<uuid:uuid>/", views.engagement, name="engagement"),
    path("review-packs/<uuid:uuid>/", review.pack, name="review_pack"),
    path("review-packs/<uuid:uuid>/pdf/", review.pack_pdf, name="review_pack_pdf"),
    path("review-packs/<uuid:uuid>/sign-off/", review.pack_signoff, name="review_pack_signoff"),
    path("prototypes/", prototypes.prototype_list, name="prototypes"),
    path("prototypes/<uuid:uuid>/", prototypes.prototype, name="prototype"),
    path("prototypes/<uuid:uuid>/ask/", prototypes.prototype_ask, name="prototype-ask"),
    path("answers/<uuid:uuid>/", prototypes.answer, name="answer"),
    path("answers/<uuid:uuid>/stream/", prototypes.answer_stream, name="answer-stream"),
    path("answers/<uuid:uuid>/citations/<int:n>/", prototypes.answer_citation, name="answer-citation"),
    path("answers/<uuid:uuid>/citations/<int:n>/document/", prototypes.answer_document, name="answer-document"),
    path("answers/<uuid:uuid>/feedback/", prototypes.answer_feedback, name="answer-feedback"),
]
