from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from deployments.forms import DeploymentForm
from deployments.models import Deployment, ModelCall


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    form = DeploymentForm
    list_display = [
        "name",
        "engine",
        "base_url",
        "served_model_name",
        "engagement",
        "is_active",
        "has_api_key",
    ]
    list_filter = ["engine", "is_active"]
    search_fields = ["name", "served_model_name", "base_url"]

    @admin.display(boolean=True, description="API key")
    def has_api_key(self, obj: Deployment) -> bool:
        return obj.has_api_key


@admin.register(ModelCall)
class ModelCallAdmin(admin.ModelAdmin):
    """Read-only: the call log is written by the gateway alone."""

    list_display = [
        "created_at",
        "deployment",
        "caller",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "ttft_ms",
        "total_ms",
    ]
    list_filter = ["status", "caller", "deployment"]
    list_select_related = ["deployment"]
    # A full COUNT(*) over millions of rows on every page view is what makes admin pages slow.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
