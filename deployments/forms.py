from __future__ import annotations

from typing import Any

from django import forms

from deployments.models import Deployment


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
        fields = ["name", "engine", "base_url", "served_model_name", "context_window", "engagement", "is_active"]

    def save(self, commit: bool = True) -> Any:
        instance = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            instance.api_key = ""
        elif self.cleaned_data.get("api_key"):
            instance.api_key = self.cleaned_data["api_key"]
        if commit:
            instance.save()
        return instance
