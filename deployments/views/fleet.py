"""The fleet page (every deployment with its SLA state, cost and traffic, and the comparison table) and the
hardware catalogue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.decorators import provider_required
from deployments.costs import engagement_cost_table, fleet_figures
from deployments.forms import HardwareTypeForm
from deployments.models import HardwareType, SlaAlert
from deployments.selectors import deployment_list_for_user
from deployments.series import RANGES, parse_range
from deployments.services import hardware_type_save


@provider_required
def deployment_list(request: HttpRequest) -> HttpResponse:
    window = parse_range({"range": request.GET.get("range", "7d")})
    deployments = list(deployment_list_for_user(user=request.user).select_related("hardware"))
    figures = fleet_figures(deployments=deployments, start=window.start, end=window.end)
    alerts = SlaAlert.objects.filter(deployment__in=deployments, closed_at__isnull=True).select_related("deployment")
    context = {
        "rows": [(d, figures[d.pk]) for d in deployments],
        "alerts": list(alerts),
        "window": window,
        "ranges": [(k, label) for k, (label, _) in RANGES.items()],
        "engagement_costs": engagement_cost_table(figures=figures, start=window.start, end=window.end),
    }
    return render(request, "deployments/list.html", context)


@provider_required
def hardware_list(request: HttpRequest) -> HttpResponse:
    form = HardwareTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _save_hardware(request, form, None)
    return render(request, "deployments/hardware.html", {"hardware": HardwareType.objects.all(), "form": form})


@provider_required
def hardware_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    hardware = get_object_or_404(HardwareType, uuid=uuid)
    form = HardwareTypeForm(request.POST or None, instance=hardware)
    if request.method == "POST" and form.is_valid():
        return _save_hardware(request, form, hardware)
    return render(request, "deployments/hardware_form.html", {"form": form, "hardware": hardware})


def _save_hardware(request: HttpRequest, form: HardwareTypeForm, hardware: HardwareType | None) -> HttpResponse:
    fields: dict[str, Any] = {name: form.cleaned_data[name] for name in form.Meta.fields}
    try:
        saved = hardware_type_save(actor=request.user, hardware=hardware, **fields)
    except ValidationError as exc:
        form.add_error(None, exc)
        template = "deployments/hardware_form.html" if hardware else "deployments/hardware.html"
        return render(request, template, {"form": form, "hardware": hardware or HardwareType.objects.all()})
    messages.success(request, f"Saved {saved.name}: cost figures that use it now follow its new price.")
    return redirect("deployments:hardware")
