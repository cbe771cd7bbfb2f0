from __future__ import annotations

from django.urls import path

from portal import review, views, views_branding, views_documents
from rag.prototypes import views_portal as prototypes

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("engagements/<uuid:uuid>/", views.engagement, name="engagement"),
    path("review-packs/<uuid:uuid>/", review.pack, name="review_pack"),
    path("review-packs/<uuid:uuid>/pdf/", review.pack_pdf, name="review_pack_pdf"),
    path("review-packs/<uuid:uuid>/sign-off/", review.pack_signoff, name="review_pack_signoff"),
    path("engagements/<uuid:uuid>/summary/", views.summary, name="summary"),
    path("engagements/<uuid:uuid>/summary.<slug:fmt>", views.summary, name="summary-download"),
    path("clients/<uuid:uuid>/branding/", views_branding.branding, name="branding"),
    path("clients/<uuid:uuid>/logo/", views_branding.logo, name="logo"),
    path("feedback/", views.feedback, name="feedback"),
    path("documents/", views_documents.documents, name="documents"),
    path("knowledge-bases/<uuid:uuid>/", views_documents.knowledge_base, name="kb"),
    path("knowledge-bases/<uuid:uuid>/documents/", views_documents.knowledge_base_documents, name="kb-documents"),
    path("knowledge-bases/<uuid:uuid>/upload/", views_documents.upload, name="kb-upload"),
    path("uploads/<uuid:uuid>/", views_documents.batch_status, name="batch-status"),
    path("prototypes/", prototypes.prototype_list, name="prototypes"),
    path("prototypes/<uuid:uuid>/", prototypes.prototype, name="prototype"),
    path("prototypes/<uuid:uuid>/ask/", prototypes.prototype_ask, name="prototype-ask"),
    path("answers/<uuid:uuid>/", prototypes.answer, name="answer"),
    path("answers/<uuid:uuid>/stream/", prototypes.answer_stream, name="answer-stream"),
    path("answers/<uuid:uuid>/citations/<int:n>/", prototypes.answer_citation, name="answer-citation"),
    path("answers/<uuid:uuid>/citations/<int:n>/document/", prototypes.answer_document, name="answer-document"),
    path("answers/<uuid:uuid>/feedback/", prototypes.answer_feedback, name="answer-feedback"),
]
