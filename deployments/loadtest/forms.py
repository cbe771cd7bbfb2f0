"""Forms for load tests: start a run, import a result file, a capacity plan and an API price."""

from __future__ import annotations

from typing import Any

from django import forms

from deployments.models import ApiPrice, CapacityPlan
from deployments.models.loadtest import Profile, SweepOver, Workload
from rag.models import EvalDataset, Prototype

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class LoadTestForm(forms.Form):
    name = forms.CharField(max_length=120, required=False)
    profile = forms.ChoiceField(choices=Profile.choices, initial=Profile.CONCURRENT)
    concurrency = forms.IntegerField(min_value=1, max_value=1024, initial=4, help_text="For fixed concurrency.")
    rate = forms.FloatField(
        label="requests/s", min_value=0.01, max_value=10_000, required=False, help_text="For constant and Poisson."
    )
    sweep_over = forms.ChoiceField(choices=SweepOver.choices, initial=SweepOver.CONCURRENCY)
    sweep_levels = forms.CharField(
        required=False, help_text="Loads to step through, e.g. 1, 2, 4, 8, 16 (empty: a doubling series)."
    )
    duration_s = forms.IntegerField(label="seconds per level", min_value=1, max_value=3600, initial=30, required=False)
    max_requests = forms.IntegerField(label="requests per level", min_value=1, max_value=100_000, required=False)
    warmup_s = forms.IntegerField(label="warm-up seconds", min_value=0, max_value=600, initial=0)
    seed = forms.IntegerField(min_value=0, initial=0)
    workload = forms.ChoiceField(choices=Workload.choices, initial=Workload.SYNTHETIC)
    input_tokens = forms.IntegerField(min_value=1, max_value=200_000, initial=128)
    input_tokens_sd = forms.IntegerField(label="input tokens spread (sd)", min_value=0, initial=0)
    output_tokens = forms.IntegerField(min_value=1, max_value=32_000, initial=64)
    output_tokens_sd = forms.IntegerField(label="output tokens spread (sd)", min_value=0, initial=0)
    fixed_output = forms.BooleanField(label="fixed output length (ignore_eos)", required=False, initial=True)
    prefix_tokens = forms.IntegerField(label="shared prefix tokens", min_value=0, initial=0)
    prototype = forms.ModelChoiceField(
        queryset=Prototype.objects.none(), to_field_name="uuid", required=False,
        help_text="For the RAG workload: its latest version retrieves and builds each prompt, as the ask page does.",
        error_messages={"invalid_choice": "Choose one of this engagement's prototypes."},
    )  # fmt: skip
    eval_dataset = forms.ModelChoiceField(
        queryset=EvalDataset.objects.none(), to_field_name="uuid", required=False,
        help_text="For the RAG workload: its ready cases' questions are asked.",
        error_messages={"invalid_choice": "Choose one of this engagement's eval datasets."},
    )  # fmt: skip

    def __init__(self, *args: Any, engagement: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if engagement is not None:
            own = {"knowledge_base__engagement": engagement}
            self.fields["prototype"].queryset = Prototype.objects.filter(**own)  # type: ignore[attr-defined]
            self.fields["eval_dataset"].queryset = EvalDataset.objects.filter(**own)  # type: ignore[attr-defined]

    def clean_sweep_levels(self) -> list[float]:
        text = self.cleaned_data.get("sweep_levels") or ""
        try:
            return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError as exc:
            raise forms.ValidationError("List numbers separated by commas, e.g. 1, 2, 4, 8.") from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("profile") in ("constant", "poisson") and not data.get("rate"):
            self.add_error("rate", "A constant or Poisson profile needs a rate.")
        if not data.get("duration_s") and not data.get("max_requests"):
            self.add_error("duration_s", "Give seconds or a number of requests per level.")
        if data.get("workload") == Workload.RAG:
            if not data.get("prototype") and "prototype" not in self.errors:
                self.add_error("prototype", "The RAG workload needs a prototype.")
            if not data.get("eval_dataset") and "eval_dataset" not in self.errors:
                self.add_error("eval_dataset", "The RAG workload needs an eval dataset.")
        return data


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="A GuideLLM JSON report or a `vllm bench serve --save-result --save-detailed` file."
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"{upload.name} is over {MAX_IMPORT_BYTES // 2**20} MB.")
        return upload


class CapacityPlanForm(forms.ModelForm):
    class Meta:
        model = CapacityPlan
        fields = ["peak_rps", "input_tokens", "output_tokens", "growth_pct_per_month", "horizon_months",
                  "peak_to_average", "monthly_budget_usd", "api_price"]  # fmt: skip


class ApiPriceForm(forms.ModelForm):
    class Meta:
        model = ApiPrice
        fields = ["provider", "model", "input_usd_per_1m", "output_usd_per_1m", "note"]
