from __future__ import annotations

from django.contrib import admin

from engagements.models import Assignment, Engagement


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ["name", "client", "created_at"]
    list_filter = ["client"]
    search_fields = ["name", "client__name"]
    inlines = [AssignmentInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["engagement", "user", "role"]
    list_filter = ["role"]
