"""What the ROI tab shows: results under a scenario, the scenarios side by side, and the inputs behind them."""

from __future__ import annotations

from typing import Any

from engagements import charts
from engagements.models import Engagement, RoiScenario
from engagements.roi.forms import (
    CostItemForm,
    HourlyRateForm,
    RoiAssumptionsForm,
    RoiScenarioForm,
    StandardScenariosForm,
    ValuationRuleForm,
)
from engagements.roi.inputs import RoiBundle, roi_bundle
from engagements.roi.selectors import (
    LINE_LABELS,
    roi_client_summary,
    roi_compute,
    roi_scenario_for_engagement,
)

ROI_VIEWS = ("results", "compare", "inputs")


def roi_results_context(bundle: RoiBundle, scenario: RoiScenario, *, preview: bool = False) -> dict[str, Any]:
    """The figures, chart, three tiers and monthly table of one scenario (saved, or inputs being tried)."""
    result = roi_compute(bundle=bundle, scenario=scenario)
    summary = roi_client_summary(bundle=bundle, scenario=scenario, result=result)
    rule_names = {str(r.uuid): f"{r.kpi.name}: {r.get_kind_display()}" for r in bundle.rules}
    recorded = [m for m in result.months if not m.forecast]
    month_rows = [
        (m, "; ".join(f"{rule_names[key]}: {basis}" for key, basis in m.kpi_basis.items())) for m in result.months
    ]
    return {
        "roi": bundle,
        "scenario": scenario,
        "result": result,
        "summary": summary,
        "currency": bundle.engagement.currency,
        "roi_chart": charts.roi_cumulative_chart(summary),
        "line_labels": LINE_LABELS,
        "benefit_rows": [(rule_names[key], value) for key, value in result.benefit_by_rule.items()],
        "month_rows": month_rows,
        "to_date": recorded[-1] if recorded else None,
        "preview": preview,
    }


def _compare(bundle: RoiBundle) -> dict[str, Any]:
    rows = []
    for scenario in bundle.scenarios:
        result = roi_compute(bundle=bundle, scenario=scenario)
        rows.append((scenario, result, roi_client_summary(bundle=bundle, scenario=scenario, result=result)))
    series = [(scenario.name, summary["months"]) for scenario, _, summary in rows]
    return {
        "compare_rows": rows,
        "compare_chart": charts.roi_compare_chart(series, bundle.engagement.currency),
    }


def _inputs(bundle: RoiBundle, engagement: Engagement, forms: dict[str, Any]) -> dict[str, Any]:
    rates = list(engagement.hourly_rates.select_related("user"))
    return {
        "rates": rates,
        "costs": list(engagement.cost_items.all()),
        "rules": bundle.rules,
        "assumptions_form": forms.get("assumptions_form") or RoiAssumptionsForm(instance=bundle.assumptions),
        "rate_form": forms.get("rate_form") or HourlyRateForm(engagement=engagement),
        "cost_form": forms.get("cost_form") or CostItemForm(),
        "rule_form": forms.get("rule_form") or ValuationRuleForm(engagement=engagement),
        "rate_errors": forms.get("rate_errors", {}),
    }


def roi_section_context(engagement: Engagement, forms: dict[str, Any]) -> dict[str, Any]:
    view = forms.get("roi_view") if forms.get("roi_view") in ROI_VIEWS else "results"
    bundle = roi_bundle(engagement=engagement)
    context: dict[str, Any] = {"roi_view": view, "roi": bundle, "currency": engagement.currency}
    if view == "compare":
        return context | _compare(bundle)
    if view == "inputs":
        return context | _inputs(bundle, engagement, forms)
    scenario = forms.get("preview_scenario") or roi_scenario_for_engagement(
        bundle=bundle, uuid=forms.get("roi_scenario")
    )
    return {
        **context,
        **roi_results_context(bundle, scenario, preview=bool(forms.get("preview_scenario"))),
        "scenario_form": forms.get("scenario_form") or RoiScenarioForm(instance=scenario),
        "standard_form": forms.get("standard_form") or StandardScenariosForm(),
        "scenario_error": forms.get("scenario_error", ""),
    }
