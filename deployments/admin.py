from __future__ import annotations

from django.contrib import admin

from deployments.forms import DeploymentForm
from deployments.models import Deployment


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
