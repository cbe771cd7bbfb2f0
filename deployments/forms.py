from __future__ import annotations

from typing import Any

from django import forms

from deployments.models import ClientApplication, Deployment
from engagements.forms import Styled


class DeploymentForm(forms.ModelForm):
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current key.",
    )
    clear_api_key = forms.BooleanField(label="Remove the stored API key", required=False)

    class Meta:
        model = Deployment
        fields = [
            "name",
            "engine",
            "base_url",
            "served_model_name",
            "context_window",
            "engagement",
            "is_active",
            "fallback",
            "gateway_concurrency",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["gateway_concurrency"].required = False
        if self.instance.pk:
            fallback = self.fields["fallback"]
            fallback.queryset = fallback.queryset.exclude(pk=self.instance.pk)  # type: ignore[attr-defined]

    def clean_gateway_concurrency(self) -> int:
        value = self.cleaned_data.get("gateway_concurrency")
        return Deployment._meta.get_field("gateway_concurrency").default if value is None else value  # type: ignore[return-value]

    def save(self, commit: bool = True) -> Any:
        instance = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            instance.api_key = ""
        elif self.cleaned_data.get("api_key"):
            instance.api_key = self.cleaned_data["api_key"]
        if commit:
            instance.save()
        return instance


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
