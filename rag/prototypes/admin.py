"""Admin pages for prototypes, answers, evaluations and feedback (registered from RagConfig.ready)."""

from __future__ import annotations

from django.contrib import admin

from rag.models import (
    Answer,
    Conversation,
    EvalCase,
    EvalDataset,
    EvalResult,
    EvalRun,
    Feedback,
    Prototype,
    PrototypeVersion,
)


class VersionInline(admin.TabularInline):
    model = PrototypeVersion
    extra = 0
    fields = readonly_fields = ("number", "note", "retrieval_mode", "top_k", "rerank", "deployment", "created_at")
    can_delete = False
    show_change_link = True


@admin.register(Prototype)
class PrototypeAdmin(admin.ModelAdmin):
    list_display = ["name", "knowledge_base", "cloned_from", "created_by", "created_at"]
    list_filter = ["knowledge_base__engagement__client"]
    search_fields = ["name"]
    inlines = [VersionInline]


class TurnInline(admin.TabularInline):
    model = Answer
    extra = 0
    fields = readonly_fields = ("question", "search_query", "status", "created_at")
    can_delete = False
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "prototype", "started_by", "created_at", "updated_at"]
    list_filter = ["prototype__knowledge_base__engagement__client"]
    raw_id_fields = ["started_by"]
    inlines = [TurnInline]


@admin.register(PrototypeVersion)
class PrototypeVersionAdmin(admin.ModelAdmin):
    list_display = ["prototype", "number", "retrieval_mode", "top_k", "rerank", "deployment", "created_at"]
    list_filter = ["retrieval_mode", "rerank"]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "confidence", "ttft_ms", "total_ms", "asked_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["version__prototype", "asked_by"]
    raw_id_fields = ["version", "model_call", "asked_by"]
    show_full_result_count = False


@admin.register(EvalDataset)
class EvalDatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "knowledge_base", "regression_tolerance", "created_at"]
    search_fields = ["name"]


@admin.register(EvalCase)
class EvalCaseAdmin(admin.ModelAdmin):
    list_display = ["external_id", "dataset", "origin", "status", "unanswerable", "requirement"]
    list_filter = ["origin", "status", "unanswerable"]
    search_fields = ["external_id", "question"]
    raw_id_fields = ["source_chunk", "requirement"]


@admin.register(EvalRun)
class EvalRunAdmin(admin.ModelAdmin):
    list_display = ["dataset", "version", "status", "progress", "total", "attempts", "is_baseline", "queued_at"]
    list_filter = ["status", "is_baseline"]


@admin.register(EvalResult)
class EvalResultAdmin(admin.ModelAdmin):
    list_display = ["run", "case", "hit", "recall", "mrr", "ndcg", "exact_match", "faithfulness", "relevance"]
    raw_id_fields = ["run", "case"]
    show_full_result_count = False


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["answer", "rating", "status", "author", "reviewed_by", "created_at"]
    list_filter = ["rating", "status"]
    raw_id_fields = ["answer"]
