"""Adding and removing stakeholders, requirements, risks, decisions, KPIs and time entries, and their small actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from engagements import forms, services
from engagements.models import Decision, Kpi, Requirement, Risk, Stakeholder
from engagements.views._common import apply_errors, done, get_engagement_for_user, render_section

CREATE: dict[str, tuple[type[ModelForm], Callable[..., Any]]] = {
    "stakeholders": (forms.StakeholderForm, services.stakeholder_create),
    "requirements": (forms.RequirementForm, services.requirement_create),
    "risks": (forms.RiskForm, services.risk_create),
    "decisions": (forms.DecisionForm, services.decision_create),
    "kpis": (forms.KpiForm, services.kpi_create),
    "effort": (forms.TimeEntryForm, services.time_entry_create),
}
MODELS: dict[str, type[models.Model]] = {
    "stakeholders": Stakeholder,
    "requirements": Requirement,
    "risks": Risk,
    "decisions": Decision,
    "kpis": Kpi,
}

VISIBLE_SECTIONS = {"requirements", "risks", "decisions"}


@provider_required
@require_POST
def record_create(request: HttpRequest, uuid: str, section: str) -> HttpResponse:
    if section not in CREATE:
        raise Http404("Nothing can be added there.")
    engagement = get_engagement_for_user(request, uuid)
    form_class, create = CREATE[section]
    form = form_class(request.POST)
    if form.is_valid():
        try:
            create(engagement=engagement, actor=request.user, **form.cleaned_data)
            return done(request, engagement, section)
        except ValidationError as error:
            apply_errors(form, error)
    return render_section(request, engagement, section, form=form)


def _get_record(engagement: Any, section: str, item: str) -> Any:
    if section not in MODELS:
        raise Http404("Nothing like that here.")
    return get_object_or_404(MODELS[section], engagement=engagement, uuid=item)


@provider_required
@require_POST
def record_delete(request: HttpRequest, uuid: str, section: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    services.record_delete(record=_get_record(engagement, section, item), actor=request.user)
    return done(request, engagement, section)


@provider_required
@require_POST
def record_status(request: HttpRequest, uuid: str, section: str, item: str) -> HttpResponse:
    """Change a requirement's or a risk's status from its row."""
    engagement = get_engagement_for_user(request, uuid)
    record = _get_record(engagement, section, item)
    status = request.POST.get("status", "")
    try:
        if section == "requirements":
            services.requirement_set_status(requirement=record, actor=request.user, status=status)
        elif section == "risks":
            services.risk_set_status(risk=record, actor=request.user, status=status)
        else:
            raise Http404("That has no status.")
    except ValidationError as error:
        return render_section(request, engagement, section, status_error=" ".join(error.messages))
    return done(request, engagement, section)


@provider_required
@require_POST
def record_visibility(request: HttpRequest, uuid: str, section: str, item: str) -> HttpResponse:
    """Show a requirement, risk or decision in the client portal, or hide it (``visible`` is "1" or "0")."""
    engagement = get_engagement_for_user(request, uuid)
    if section not in VISIBLE_SECTIONS:
        raise Http404("That is never shown to the client.")
    record = _get_record(engagement, section, item)
    visible = request.POST.get("visible") == "1"
    services.record_set_client_visibility(record=record, actor=request.user, visible=visible)
    return done(request, engagement, section)


@provider_required
@require_POST
def signoff_create(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    stakeholder = _get_record(engagement, "stakeholders", item)
    try:
        services.signoff_record(stakeholder=stakeholder, actor=request.user)
    except ValidationError as error:
        return render_section(request, engagement, "stakeholders", status_error=" ".join(error.messages))
    return done(request, engagement, "stakeholders")


@provider_required
@require_POST
def kpi_measure(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    kpi = _get_record(engagement, "kpis", item)
    form = forms.MeasurementForm(request.POST)
    if not form.is_valid():
        return render_section(request, engagement, "kpis", kpi_errors={kpi.pk: form.errors.as_text()})
    services.kpi_measurement_record(kpi=kpi, actor=request.user, **form.cleaned_data)
    return done(request, engagement, "kpis")


@provider_required
@require_POST
def kpi_import(request: HttpRequest, uuid: str, item: str) -> HttpResponse:
    engagement = get_engagement_for_user(request, uuid)
    kpi = _get_record(engagement, "kpis", item)
    form = forms.CsvImportForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise ValidationError(list(form.errors["file"]))
        services.kpi_measurements_import_csv(kpi=kpi, actor=request.user, text=form.cleaned_data["file"])
    except ValidationError as error:
        return render_section(request, engagement, "kpis", kpi_errors={kpi.pk: " ".join(error.messages)})
    return done(request, engagement, "kpis")
