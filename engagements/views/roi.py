"""The ROI tab: results under a scenario (recomputed live as inputs change), scenarios compared, and the inputs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import provider_required
from engagements import charts
from engagements.models import CostItem, Engagement, HourlyRate, RoiScenario, ValuationRule
from engagements.roi import forms
from engagements.roi.inputs import roi_bundle
from engagements.roi.selectors import roi_portfolio, roi_portfolio_totals
from engagements.selectors import engagement_portfolio_for_user
from engagements.services import roi as services
from engagements.views._common import apply_errors, get_engagement_for_user, is_htmx, render_section
from engagements.views.board import _context as portfolio_context
from engagements.views.roi_context import roi_results_context

INPUTS: dict[str, tuple[type[models.Model], Callable[..., BaseForm], Callable[..., Any], str]] = {
    "rates": (HourlyRate, forms.HourlyRateForm, services.hourly_rate_create, "rate_form"),
    "costs": (CostItem, forms.CostItemForm, services.cost_item_create, "cost_form"),
    "rules": (ValuationRule, forms.ValuationRuleForm, services.valuation_rule_create, "rule_form"),
}


def _url(engagement: Engagement, view: str = "", **query: str) -> str:
    name = {"": "roi", "compare": "roi_compare", "inputs": "roi_inputs"}[view]
    url = reverse(f"engagements:{name}", kwargs={"uuid": engagement.uuid})
    return url + "".join(f"?{key}={value}" for key, value in query.items())


def _go(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)


def _inputs_done(request: HttpRequest, engagement: Engagement, **forms_with_errors: Any) -> HttpResponse:
    if forms_with_errors or is_htmx(request):
        return render_section(request, engagement, "roi", roi_view="inputs", **forms_with_errors)
    return redirect(_url(engagement, "inputs"))


@provider_required
@require_GET
def roi_results(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    return render_section(request, engagement, "roi", roi_scenario=request.GET.get("scenario"))


@provider_required
@require_GET
def roi_compare(request: HttpRequest, uuid: str) -> HttpResponse:
    return render_section(request, get_engagement_for_user(request, uuid), "roi", roi_view="compare")


@provider_required
@require_GET
def roi_inputs(request: HttpRequest, uuid: str) -> HttpResponse:
    return render_section(request, get_engagement_for_user(request, uuid), "roi", roi_view="inputs")


@provider_required
@require_GET
def roi_preview(request: HttpRequest, uuid: str) -> HttpResponse:
    """Recompute under the inputs being tried, without saving: the results fragment for htmx, else the page."""
    engagement = get_engagement_for_user(request, uuid)
    bundle = roi_bundle(engagement=engagement)
    base = next((s for s in bundle.scenarios if str(s.uuid) == request.GET.get("scenario")), None)
    form = forms.RoiScenarioForm(request.GET)
    if not form.is_valid():
        if is_htmx(request):
            return render(request, "engagements/_roi_form_errors.html", {"scenario_form": form})
        return render_section(request, engagement, "roi", scenario_form=form, roi_scenario=request.GET.get("scenario"))
    trial = copy.copy(base) if base else RoiScenario(engagement=engagement)
    for field, value in form.inputs().items():
        setattr(trial, field, value)
    if not is_htmx(request):
        return render_section(request, engagement, "roi", preview_scenario=trial, scenario_form=form)
    context = {"engagement": engagement, **roi_results_context(bundle, trial, preview=True)}
    return render(request, "engagements/_roi_results.html", context)


@provider_required
@require_POST
def roi_scenario_save(request: HttpRequest, uuid: str) -> HttpResponse:
    """Save the inputs into the scenario they came from, or as a new named one ("save as")."""
    engagement = get_engagement_for_user(request, uuid, write=True)
    existing = None
    if request.POST.get("scenario") and request.POST.get("save") != "new":
        existing = get_object_or_404(RoiScenario, engagement=engagement, uuid=request.POST["scenario"])
    form = forms.RoiScenarioForm(request.POST)
    name = (request.POST.get("name") or (existing.name if existing else "")).strip()
    try:
        if not form.is_valid():
            raise ValidationError("Some inputs are not valid; see the fields.")
        if not name:
            raise ValidationError({"name": "Name the scenario, e.g. Expected."})
        scenario = services.roi_scenario_save(
            engagement=engagement, actor=request.user, name=name, scenario=existing, **form.inputs()
        )
    except ValidationError as error:
        apply_errors(form, error)
        message = " ".join(error.messages)
        return render_section(request, engagement, "roi", scenario_form=form, scenario_error=message)
    return _go(request, _url(engagement, scenario=str(scenario.uuid)))


@provider_required
@require_POST
def roi_scenario_action(request: HttpRequest, uuid: str, item: str, action: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid, write=True)
    scenario = get_object_or_404(RoiScenario, engagement=engagement, uuid=item)
    if action == "primary":
        services.roi_scenario_set_primary(scenario=scenario, actor=request.user)
        return _go(request, _url(engagement, scenario=str(scenario.uuid)))
    if action == "delete":
        services.roi_scenario_delete(scenario=scenario, actor=request.user)
        return _go(request, _url(engagement))
    raise Http404("No such action.")


@provider_required
@require_POST
def roi_scenarios_standard(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid, write=True)
    form = forms.StandardScenariosForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Enter the expected monthly volume, e.g. 4000.")
        services.roi_scenarios_create_standard(engagement=engagement, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        apply_errors(form, error)
        return render_section(request, engagement, "roi", standard_form=form)
    return _go(request, _url(engagement))


@provider_required
@require_POST
def roi_assumptions(request: HttpRequest, uuid: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid, write=True)
    form = forms.RoiAssumptionsForm(request.POST, instance=roi_bundle(engagement=engagement).assumptions)
    if form.is_valid():
        try:
            services.roi_assumptions_update(engagement=engagement, actor=request.user, **form.cleaned_data)
            return _inputs_done(request, engagement)
        except ValidationError as error:
            apply_errors(form, error)
    return _inputs_done(request, engagement, assumptions_form=form)


@provider_required
@require_POST
def roi_input_create(request: HttpRequest, uuid: str, kind: str) -> HttpResponse:
    if kind not in INPUTS:
        raise Http404("Nothing like that can be added.")
    engagement = get_engagement_for_user(request, uuid, write=True)
    _, form_class, create, form_name = INPUTS[kind]
    form = form_class(request.POST, engagement=engagement)
    if form.is_valid():
        try:
            create(engagement=engagement, actor=request.user, **form.cleaned_data)
            return _inputs_done(request, engagement)
        except ValidationError as error:
            apply_errors(form, error)
    return _inputs_done(request, engagement, **{form_name: form})


@provider_required
@require_POST
def roi_rate_update(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid, write=True)
    rate = get_object_or_404(HourlyRate, engagement=engagement, uuid=item)
    form = forms.HourlyRateEditForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.as_text())
        services.hourly_rate_update(rate=rate, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        return _inputs_done(request, engagement, rate_errors={rate.pk: " ".join(error.messages)})
    return _inputs_done(request, engagement)


@provider_required
@require_POST
def roi_input_delete(request: HttpRequest, uuid: str, kind: str, item: str) -> HttpResponse:
    if kind not in INPUTS:
        raise Http404("Nothing like that here.")
    engagement = get_engagement_for_user(request, uuid, write=True)
    record = get_object_or_404(INPUTS[kind][0], engagement=engagement, uuid=item)
    services.roi_record_delete(record=record, actor=request.user)  # type: ignore[arg-type]
    return _inputs_done(request, engagement)


@provider_required
@require_GET
def roi_portfolio_view(request: HttpRequest) -> HttpResponse:
    """The practice's ROI: each engagement's primary scenario, with totals per currency."""
    context = portfolio_context(request, "roi")
    engagements = engagement_portfolio_for_user(user=request.user, **context["filters"])
    rows = roi_portfolio(engagements=engagements)
    context |= {"rows": rows, "totals": roi_portfolio_totals(rows), "chart": charts.roi_portfolio_chart(rows)}
    return render(request, "engagements/roi_portfolio.html", context)
