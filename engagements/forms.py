from __future__ import annotations

import json
from typing import Any

from django import forms

from accounts.models import Client, User
from engagements.metrics import all_providers
from engagements.models import (
    Assignment,
    Decision,
    Engagement,
    GateCriterion,
    Kpi,
    Phase,
    Requirement,
    Risk,
    Stakeholder,
    TimeEntry,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 2})


class Styled:
    """Gives every widget Bootstrap's classes, so templates can render fields with one include."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs["class"] = "form-check-input"
                continue
            widget.attrs["class"] = f"{css} form-control-sm" if css == "form-control" else f"{css} form-select-sm"


class EngagementForm(Styled, forms.ModelForm):
    currency = forms.CharField(
        max_length=3,
        required=False,
        help_text="ISO code every amount of this engagement is in (rates, costs, ROI), e.g. USD, EUR or GBP. "
        "Changing it does not convert amounts already entered.",
        widget=forms.TextInput(attrs={"placeholder": "USD", "autocapitalize": "characters"}),
    )

    class Meta:
        model = Engagement
        fields = [
            "name",
            "problem_statement",
            "business_objective",
            "success_criteria",
            "start_date",
            "target_date",
            "health",
            "health_reason",
            "currency",
        ]
        widgets = {
            "start_date": DATE,
            "target_date": DATE,
            "problem_statement": TEXT,
            "business_objective": TEXT,
            "success_criteria": TEXT,
        }

    def clean_currency(self) -> str:
        entered = str(self.cleaned_data.get("currency") or "").strip().upper()
        return entered or self.instance.currency or "USD"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, target = data.get("start_date"), data.get("target_date")
        if start and target and target < start:
            self.add_error("target_date", "The target date is before the start date; pick a later target date.")
        if data.get("health", Engagement.Health.ON_TRACK) != Engagement.Health.ON_TRACK and not data.get(
            "health_reason"
        ):
            self.add_error("health_reason", "Say why the engagement is at risk or off track.")
        return data


class EngagementCreateForm(EngagementForm):
    client = forms.ModelChoiceField(queryset=Client.objects.all())

    class Meta(EngagementForm.Meta):
        fields = ["client", *EngagementForm.Meta.fields]


class CriterionForm(forms.ModelForm):
    params_json = forms.CharField(
        label="Parameters (JSON)", required=False, widget=forms.TextInput(attrs={"placeholder": '{"role": "sponsor"}'})
    )
    threshold = forms.CharField(required=False)

    class Meta:
        model = GateCriterion
        fields = ["phase", "kind", "label", "provider_key", "comparison", "visible_to_client"]
        widgets = {
            "provider_key": forms.TextInput(attrs={"list": "provider-keys", "placeholder": "e.g. rag.eval_metric"})
        }

    def clean_params_json(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("params_json", "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f'This is not valid JSON ({exc.msg}); write e.g. {{"role": "sponsor"}}.'
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Parameters must be a JSON object, e.g. {"role": "sponsor"}.')
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == GateCriterion.Kind.METRIC:
            if not data.get("provider_key"):
                self.add_error("provider_key", "Choose the metric provider this evidence comes from.")
            threshold = (data.get("threshold") or "").strip()
            if not threshold:
                self.add_error("threshold", "Enter the threshold the value is compared with, e.g. 50 or 0.8.")
            else:
                try:
                    float(threshold)
                except ValueError:
                    self.add_error("threshold", f"“{threshold}” is not a number. Enter e.g. 50 or 0.8.")
        return data

    def _post_clean(self) -> None:
        # The service validates the row; the form only checks the input's shape.
        pass

    @staticmethod
    def provider_choices() -> list[Any]:
        return all_providers()


class AdvanceForm(forms.Form):
    expected_phase = forms.ChoiceField(choices=Phase.choices, widget=forms.HiddenInput)
    note = forms.CharField(required=False, widget=TEXT)
    override_reason = forms.CharField(
        required=False, widget=TEXT, help_text="Leads only: why the engagement advances although criteria fail."
    )


class ReturnForm(forms.Form):
    expected_phase = forms.ChoiceField(choices=Phase.choices, widget=forms.HiddenInput)
    to_phase = forms.ChoiceField(choices=Phase.choices)
    reason = forms.CharField(widget=TEXT)


class AssignForm(Styled, forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_provider=True, is_active=True), empty_label="Choose an FDE…"
    )
    role = forms.ChoiceField(choices=Assignment.Role.choices, initial=Assignment.Role.ENGINEER)


class StakeholderForm(Styled, forms.ModelForm):
    class Meta:
        model = Stakeholder
        fields = ["name", "title", "email", "role", "influence", "interest"]


class RequirementForm(Styled, forms.ModelForm):
    class Meta:
        model = Requirement
        fields = ["title", "priority", "status", "visible_to_client", "description", "acceptance_criteria"]
        widgets = {"description": TEXT, "acceptance_criteria": TEXT}


class RiskForm(Styled, forms.ModelForm):
    likelihood = forms.TypedChoiceField(coerce=int, choices=[(i, i) for i in range(1, 6)], initial=3)
    impact = forms.TypedChoiceField(coerce=int, choices=[(i, i) for i in range(1, 6)], initial=3)

    class Meta:
        model = Risk
        fields = ["title", "likelihood", "impact", "owner", "status", "visible_to_client", "description", "mitigation"]
        widgets = {"description": TEXT, "mitigation": TEXT}


class DecisionForm(Styled, forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["title", "decided_on", "visible_to_client", "context", "decision", "consequences"]
        widgets = {"decided_on": DATE, "context": TEXT, "decision": TEXT, "consequences": TEXT}


class KpiForm(Styled, forms.ModelForm):
    class Meta:
        model = Kpi
        fields = ["name", "tier", "unit", "direction", "baseline", "target", "provider_key"]
        widgets = {"provider_key": forms.TextInput(attrs={"list": "provider-keys"})}


class MeasurementForm(Styled, forms.Form):
    measured_on = forms.DateField(widget=DATE)
    value = forms.FloatField()
    note = forms.CharField(required=False, max_length=300)


class CsvImportForm(Styled, forms.Form):
    file = forms.FileField(help_text="A CSV with a header row: date,value[,note]; dates as YYYY-MM-DD.")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > 1_000_000:
            raise forms.ValidationError("The file is larger than 1 MB; split it into smaller files.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text; export it from your spreadsheet as CSV UTF-8."
            ) from None


class TimeEntryForm(Styled, forms.ModelForm):
    class Meta:
        model = TimeEntry
        fields = ["date", "hours", "phase", "note"]
        widgets = {"date": DATE}
