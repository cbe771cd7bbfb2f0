from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from deployments.forms import DeploymentForm
from deployments.models import (
    AlertWebhook,
    ApiPrice,
    CapacityPlan,
    ClientApplication,
    Deployment,
    GatewayKey,
    HardwareType,
    LoadTest,
    LoadTestRequest,
    ModelCall,
    PromptPrefix,
    ServerSample,
    SlaAlert,
)
from deployments.services import deployment_create, deployment_update


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

    def save_model(self, request: HttpRequest, obj: Deployment, form: DeploymentForm, change: bool) -> None:
        # Through the services, so the admin keeps the same rules (a new base URL drops the stored key).
        key = form.cleaned_data.get("api_key") or None
        if change:
            original = Deployment.objects.get(pk=obj.pk)
            deployment_update(
                deployment=original,
                actor=None,
                fields=form.service_fields(),
                api_key=key,
                clear_api_key=form.cleaned_data.get("clear_api_key", False),
            )
            obj.pk = original.pk
        else:
            obj.pk = deployment_create(actor=request.user, fields=form.service_fields(), api_key=key).pk


@admin.register(HardwareType)
class HardwareTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "memory_gib", "hourly_price_usd", "is_cpu", "updated_at"]


@admin.register(SlaAlert)
class SlaAlertAdmin(admin.ModelAdmin):
    list_display = ["deployment", "opened_at", "closed_at", "summary"]
    list_select_related = ["deployment"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """For tables only the product writes (logs, samples): browsable, never added to or edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ModelCall)
class ModelCallAdmin(ReadOnlyAdmin):
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


@admin.register(AlertWebhook)
class AlertWebhookAdmin(admin.ModelAdmin):
    """Only which engagements have a webhook; the URL is a secret and is set from the deployment page."""

    list_display = ["engagement", "updated_at"]
    list_select_related = ["engagement"]
    fields = ["engagement", "updated_at"]
    readonly_fields = ["engagement", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ServerSample)
class ServerSampleAdmin(ReadOnlyAdmin):
    """Samples are written by the periodic scrape."""

    list_display = ["scraped_at", "deployment", "ok", "running", "waiting", "ttft_p95_ms", "generation_tps"]
    list_filter = ["ok", "deployment"]
    list_select_related = ["deployment"]
    show_full_result_count = False


class GatewayKeyInline(admin.TabularInline):
    """Keys are created in the product, where the key is shown once; here they can only be read."""

    model = GatewayKey
    fields = ("name", "prefix", "requests_per_minute", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ClientApplication)
class ClientApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "engagement", "priority", "created_at"]
    list_filter = ["priority"]
    search_fields = ["name", "engagement__name"]
    inlines = [GatewayKeyInline]


@admin.register(GatewayKey)
class GatewayKeyAdmin(admin.ModelAdmin):
    """Read-only apart from revoking in the product: the key itself exists only in the response that created it."""

    list_display = ["name", "prefix", "application", "requests_per_minute", "last_used_at", "revoked_at"]
    list_select_related = ["application"]
    readonly_fields = ["prefix", "digest", "last_used_at", "revoked_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PromptPrefix)
class PromptPrefixAdmin(ReadOnlyAdmin):
    """Read-only: written with each logged call."""

    list_display = ["call_id", "deployment", "created_at", "tokens"]
    list_select_related = ["deployment"]
    show_full_result_count = False


@admin.register(LoadTest)
class LoadTestAdmin(admin.ModelAdmin):
    list_display = ["name", "deployment", "profile", "status", "progress", "total", "queued_at"]
    list_filter = ["status", "profile"]
    raw_id_fields = ["deployment", "engagement", "started_by"]


@admin.register(LoadTestRequest)
class LoadTestRequestAdmin(admin.ModelAdmin):
    """Measured requests: read here, never edited (a run's figures are computed from them)."""

    list_display = ["run", "level", "index", "ok", "ttft_ms", "itl_ms"]
    raw_id_fields = ["run"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ApiPrice)
class ApiPriceAdmin(admin.ModelAdmin):
    list_display = ["provider", "model", "input_usd_per_1m", "output_usd_per_1m"]


@admin.register(CapacityPlan)
class CapacityPlanAdmin(admin.ModelAdmin):
    list_display = ["deployment", "engagement", "peak_rps", "input_tokens", "output_tokens"]
    raw_id_fields = ["deployment", "engagement"]
