from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from deployments.modelconfig import ModelShapeFromConfig, shape_from_config
from deployments.models import AlertWebhook, ClientApplication, Deployment, HardwareType
from deployments.services import EDITABLE_FIELDS
from engagements.forms import Styled

MAX_CONFIG_BYTES = 1024 * 1024

# The form's sections, in order: (title, fields, help).
FIELDSETS = [
    ("Endpoint", ["name", "engine", "base_url", "served_model_name", "api_key", "clear_api_key", "engagement",
                  "environment", "is_active"], ""),
    ("Model", ["model_source", "config_json", "config_file", "parameters_b", "num_layers", "num_attention_heads",
               "num_kv_heads", "head_dim", "max_position_embeddings"],
     "Paste or upload the model's config.json to fill in its shape; every number stays editable."),
    ("Hardware and engine", ["hardware", "hardware_count", "quantization", "kv_cache_dtype", "context_window",
                             "tensor_parallel_size", "max_num_seqs", "gpu_memory_utilization", "cpu_kv_cache_gib",
                             "enable_prefix_caching", "enable_chunked_prefill", "priority_scheduling",
                             "enforce_eager", "speculative_method", "speculative_model", "num_speculative_tokens"],
     "What vLLM runs with; the launch planner and the generated launch files use the same settings."),
    ("SLA", ["sla_ttft_p95_ms", "sla_itl_p95_ms", "sla_e2e_p95_ms", "sla_min_tokens_per_s", "sla_max_error_rate",
             "sla_window_minutes"],
     "Leave a target empty to not judge it. The SLA is judged every minute over the window below."),
    ("Gateway", ["fallback", "gateway_concurrency"],
     "How the OpenAI-compatible gateway treats this deployment's callers."),
]  # fmt: skip
SHAPE_FIELDS = [
    "parameters_b",
    "num_layers",
    "num_attention_heads",
    "num_kv_heads",
    "head_dim",
    "max_position_embeddings",
]


class DeploymentForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current key; changing the base "
        "URL removes the stored key unless you enter it again.",
    )
    clear_api_key = forms.BooleanField(label="Remove the stored API key", required=False)
    config_json = forms.CharField(
        label="config.json",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"num_hidden_layers": 80, ...}'}),
        help_text="Fills the empty shape fields below when you save.",
    )
    config_file = forms.FileField(label="or upload config.json", required=False)

    class Meta:
        model = Deployment
        fields = list(EDITABLE_FIELDS)
        labels = {"context_window": "max model length (tokens)"}

    def __init__(self, *args: Any, engagements: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if engagements is not None:
            self.fields["engagement"].queryset = engagements  # type: ignore[attr-defined]
        self.fields["hardware"].queryset = HardwareType.objects.all()  # type: ignore[attr-defined]
        if self.instance.pk:
            fallback = self.fields["fallback"]
            fallback.queryset = fallback.queryset.exclude(pk=self.instance.pk)  # type: ignore[attr-defined]
        self.config_shape: ModelShapeFromConfig | None = None
        # Settings with a default may be left out (a short registration, a script): the default applies.
        self._defaults: dict[str, Any] = {}
        for name, field in self.fields.items():
            model_field = Deployment._meta.get_field(name) if name in EDITABLE_FIELDS else None
            if isinstance(model_field, models.Field) and model_field.has_default() and field.required:
                field.required = False
                self._defaults[name] = model_field.get_default()

    def fieldsets(self) -> list[tuple[str, list[Any], str]]:
        return [(title, [self[name] for name in names], help) for title, names, help in FIELDSETS]

    def clean_config_file(self) -> Any:
        upload = self.cleaned_data.get("config_file")
        if upload and upload.size > MAX_CONFIG_BYTES:
            raise ValidationError(
                "A config.json is a few kilobytes; this file is over 1 MiB. Upload the model's config.json."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name, default in self._defaults.items():
            if data.get(name) in (None, "") and name not in self.errors:
                data[name] = default
        text: str | bytes = data.get("config_json") or ""
        if data.get("config_file"):
            text = data["config_file"].read()
        if text:
            try:
                self.config_shape = shape_from_config(text)
            except ValidationError as exc:
                self.add_error("config_file" if data.get("config_file") else "config_json", exc)
                return data
            for name, value in self.config_shape.as_fields().items():
                if data.get(name) in (None, "") and value is not None:
                    data[name] = value
            if self.config_shape.quantization and "quantization" not in self.changed_data:
                data["quantization"] = self.config_shape.quantization
        return data

    def service_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS if name in self.cleaned_data}


class ConfigShapeForm(forms.Form):
    """The shape fields alone, filled from a pasted or uploaded config.json (the "Read config.json" button)."""

    config_json = forms.CharField(required=False)
    config_file = forms.FileField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        text = data["config_file"].read() if data.get("config_file") else data.get("config_json") or ""
        if not text:
            raise ValidationError("Paste the model's config.json or choose the file first.")
        data["shape"] = shape_from_config(text)
        return data


class HardwareTypeForm(forms.ModelForm):
    class Meta:
        model = HardwareType
        fields = ["name", "memory_gib", "hourly_price_usd", "is_cpu", "note"]


class AlertWebhookForm(forms.Form):
    url = forms.CharField(
        label="Webhook URL",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text='A Slack-compatible incoming webhook (it receives {"text": ...}); kept encrypted. Leave empty '
        "and save to remove it.",
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if url:
            probe = AlertWebhook()
            probe.url = url  # validates
        return url


class ApplicationForm(Styled, forms.ModelForm):
    class Meta:
        model = ClientApplication
        fields = ["engagement", "name", "description", "priority"]

    def __init__(self, *args: Any, engagements: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = engagements  # type: ignore[attr-defined]
        self.fields["engagement"].help_text = "The client's engagement this program belongs to."


class GatewayKeyForm(Styled, forms.Form):
    name = forms.CharField(max_length=100, initial="production", help_text='Where the key is used, e.g. "staging".')
    deployments = forms.ModelMultipleChoiceField(
        queryset=Deployment.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The deployments this key may call; the request's model field picks one.",
    )
    requests_per_minute = forms.IntegerField(min_value=1, max_value=100_000, initial=120)

    def __init__(self, *args: Any, deployments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deployments"].queryset = deployments  # type: ignore[attr-defined]
        self.fields["deployments"].widget.attrs["class"] = "form-check-input"
