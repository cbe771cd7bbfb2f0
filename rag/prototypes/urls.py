"""Prototype and evaluation pages, included under /rag/ in the ``rag`` namespace."""

from __future__ import annotations

from django.urls import path

from rag.prototypes import views_abstention as ab
from rag.prototypes import views_ask as ask
from rag.prototypes import views_conversations as conv
from rag.prototypes import views_eval as ev

urlpatterns = [
    path("prototypes/", ask.prototype_list, name="prototypes"),
    path("prototypes/new/", ask.prototype_create, name="prototype-create"),
    path("prototypes/<uuid:uuid>/", ask.prototype_detail, name="prototype"),
    path("prototypes/<uuid:uuid>/versions/new/", ask.version_create, name="prototype-version-create"),
    path("prototypes/<uuid:uuid>/clone/", ask.prototype_clone, name="prototype-clone"),
    path("prototypes/<uuid:uuid>/ask/", ask.prototype_ask, name="prototype-ask"),
    path("answers/<uuid:uuid>/", ask.answer_detail, name="answer"),
    path("answers/<uuid:uuid>/stream/", ask.answer_stream, name="answer-stream"),
    path("answers/<uuid:uuid>/citations/<int:n>/", ask.answer_citation, name="answer-citation"),
    path("answers/<uuid:uuid>/citations/<int:n>/document/", ask.answer_document, name="answer-document"),
    path("answers/<uuid:uuid>/feedback/", ask.answer_feedback, name="answer-feedback"),
    path("conversations/<uuid:uuid>/", conv.conversation_detail, name="conversation"),
    path("conversations/<uuid:uuid>/eval-cases/", conv.conversation_eval_cases, name="conversation-eval-cases"),
    path("eval/datasets/", ev.dataset_list, name="eval-datasets"),
    path("eval/datasets/<uuid:uuid>/", ev.dataset_detail, name="eval-dataset"),
    path("eval/datasets/<uuid:uuid>/cases/", ev.case_add, name="eval-case-add"),
    path("eval/datasets/<uuid:uuid>/cases/<uuid:case>/review/", ev.case_approve, name="eval-case-review"),
    path("eval/datasets/<uuid:uuid>/import/", ev.cases_import, name="eval-cases-import"),
    path("eval/datasets/<uuid:uuid>/draft/", ev.cases_draft, name="eval-cases-draft"),
    path("eval/datasets/<uuid:uuid>/runs/", ev.run_create, name="eval-run-create"),
    path("eval/runs/<uuid:uuid>/", ev.run_detail, name="eval-run"),
    path("eval/runs/<uuid:uuid>/baseline/", ev.run_baseline, name="eval-run-baseline"),
    path("eval/runs/<uuid:uuid>/abstention/", ab.run_abstention, name="eval-run-abstention"),
    path("eval/runs/<uuid:uuid>/abstention/apply/", ab.run_abstention_apply, name="eval-run-abstention-apply"),
    path(
        "eval/datasets/<uuid:uuid>/draft-unanswerable/", ab.dataset_draft_unanswerable, name="eval-draft-unanswerable"
    ),
    path("eval/compare/", ev.run_compare, name="eval-compare"),
    path("feedback/", ev.feedback_queue, name="feedback-queue"),
    path("feedback/<uuid:uuid>/review/", ev.feedback_review, name="feedback-review"),
]
