"""Forms for the ROI inputs: scenarios, assumptions, rates, costs and valuation rules (shape checks only)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from django import forms

from accounts.models import User
from engagements.forms import DATE, TEXT, Styled
from engagements.models import CostItem, Engagement, HourlyRate, RoiAssumptions, RoiScenario, ValuationRule

MONTH = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")
MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d"]


class NoModelValidation:
    """The services validate the row against the engagement; a form only checks the input's shape."""

    def _post_clean(self) -> None:
        pass


class RoiScenarioForm(NoModelValidation, Styled, forms.ModelForm):
    name = forms.CharField(max_length=80, required=False, label="Scenario name")

    class Meta:
        model = RoiScenario
        fields = [f for f in RoiScenario.INPUTS if f != "note"]
        labels = {
            "volume_per_month": "Volume per month",
            "adoption_start_pct": "Adoption at go-live (%)",
            "adoption_target_pct": "Adoption after the ramp (%)",
            "ramp_months": "Ramp (months)",
            "value_rate_pct": "Valuation rates (% of the rules')",
            "discount_rate_pct": "Discount rate (% a year)",
            "outlook": "Forecast KPIs at",
        }
        help_texts = {"value_rate_pct": "", "discount_rate_pct": ""}
        widgets = {
            "volume_per_month": forms.NumberInput(attrs={"step": "any", "min": 0}),
            "adoption_start_pct": forms.NumberInput(attrs={"step": "any", "min": 0, "max": 100}),
            "adoption_target_pct": forms.NumberInput(attrs={"step": "any", "min": 0, "max": 100}),
            "ramp_months": forms.NumberInput(attrs={"min": 0, "max": 60}),
            "value_rate_pct": forms.NumberInput(attrs={"step": "any", "min": 0, "max": 500}),
            "discount_rate_pct": forms.NumberInput(attrs={"step": "any", "min": 0, "max": 100}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field, low, high in (
            ("adoption_start_pct", 0, 100),
            ("adoption_target_pct", 0, 100),
            ("ramp_months", 0, 60),
            ("value_rate_pct", 0, 500),
            ("discount_rate_pct", 0, 100),
        ):
            value = data.get(field)
            if value is not None and not low <= value <= high:
                self.add_error(field, f"Enter a number from {low} to {high}.")
        if data.get("volume_per_month") is not None and data["volume_per_month"] < 0:
            self.add_error("volume_per_month", "The volume cannot be negative.")
        return data

    def inputs(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "name"}


class StandardScenariosForm(Styled, forms.Form):
    volume_per_month = forms.DecimalField(
        min_value=0, max_digits=14, decimal_places=2, label="Expected volume per month"
    )


class RoiAssumptionsForm(NoModelValidation, Styled, forms.ModelForm):
    start_month = forms.DateField(widget=MONTH, input_formats=MONTH_FORMATS, label="First month counted")
    go_live_month = forms.DateField(widget=MONTH, input_formats=MONTH_FORMATS, label="Go-live month")

    class Meta:
        model = RoiAssumptions
        fields = list(RoiAssumptions.INPUTS)
        widgets = {"note": TEXT}
        labels = {
            "horizon_months": "Horizon (months)",
            "build_hours_per_month": "FDE hours a month until go-live",
            "support_hours_per_month": "FDE hours a month after go-live",
            "infra_basis": "Infrastructure priced by",
            "infra_use_measured": "Use measured prices",
            "infra_price_in_per_million": "Price per 1M input tokens",
            "infra_price_out_per_million": "Price per 1M output tokens",
            "infra_hourly_price": "Hourly price",
            "infra_monthly_amount": "Monthly amount",
            "measured_fx_rate": "Exchange rate for measured prices",
            "api_price_in_per_million": "API price per 1M input tokens",
            "api_price_out_per_million": "API price per 1M output tokens",
            "note": "Internal note",
        }


class HourlyRateForm(NoModelValidation, Styled, forms.ModelForm):
    class Meta:
        model = HourlyRate
        fields = ["user", "role", "hourly_rate", "effective_from", "note"]
        labels = {"user": "Person", "role": "or role", "effective_from": "In force from"}
        widgets = {"effective_from": DATE}

    def __init__(self, *args: Any, engagement: Engagement | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = User.objects.filter(is_provider=True, is_active=True)
        if engagement is not None:
            team = team.filter(assignments__engagement=engagement)
        self.fields["user"].queryset = team  # type: ignore[attr-defined]
        self.fields["user"].empty_label = "Anyone in the role (or everyone)"  # type: ignore[attr-defined]
        roles = list(self.fields["role"].choices)[1:]  # type: ignore[attr-defined]
        self.fields["role"].choices = [("", "Any role"), *roles]  # type: ignore[attr-defined]


class HourlyRateEditForm(Styled, forms.Form):
    hourly_rate = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    effective_from = forms.DateField(widget=DATE)
    note = forms.CharField(max_length=300, required=False)


class CostItemForm(NoModelValidation, Styled, forms.ModelForm):
    class Meta:
        model = CostItem
        fields = ["name", "category", "amount", "starts_on", "ends_on", "note"]
        labels = {"starts_on": "Falls on / first month", "ends_on": "Last month (recurring)"}
        widgets = {"starts_on": DATE, "ends_on": DATE}

    def __init__(self, *args: Any, engagement: Engagement | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class ValuationRuleForm(NoModelValidation, Styled, forms.ModelForm):
    factor = forms.CharField(
        required=False,
        label="Unit conversion",
        help_text="Blank: from the KPI's unit (minutes → hours is 1/60, a percentage 1/100). A number or a fraction.",
    )

    class Meta:
        model = ValuationRule
        fields = ["kpi", "kind", "unit_value", "per_volume", "note"]
        labels = {"kpi": "KPI", "unit_value": "Value per unit", "per_volume": "Per unit of work"}

    def __init__(self, *args: Any, engagement: Engagement | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if engagement is not None:
            self.fields["kpi"].queryset = engagement.kpis.all()  # type: ignore[attr-defined]

    def clean_factor(self) -> float | None:
        raw = (self.cleaned_data.get("factor") or "").strip()
        if not raw:
            return None
        try:
            value = float(Fraction(raw.replace(" ", "")))
        except (ValueError, ZeroDivisionError):
            raise forms.ValidationError(f"“{raw}” is not a number; write e.g. 1/60 or 0.01.") from None
        if value <= 0:
            raise forms.ValidationError("The conversion must be more than 0.")
        return value
