"""The capacity plan of a deployment (replicas, devices and monthly cost at the SLA, against an API) and the API
price catalogue."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.decorators import provider_required
from deployments.loadtest import charts
from deployments.loadtest.capacity import api_usd_per_request, crossover_requests, plan_for
from deployments.loadtest.forms import ApiPriceForm, CapacityPlanForm
from deployments.loadtest.services import api_price_save, capacity_plan_save
from deployments.models import ApiPrice, CapacityPlan
from deployments.selectors import deployment_user_can_edit
from deployments.views.endpoints import _get_deployment_for_user


@provider_required
def capacity_plan(request: HttpRequest, uuid: Any) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid)
    existing = CapacityPlan.objects.filter(engagement=deployment.engagement, deployment=deployment).first()
    form = CapacityPlanForm(request.POST or None, instance=existing)
    if request.method == "POST":
        _get_deployment_for_user(request, uuid, write=True)
        if form.is_valid():
            try:
                capacity_plan_save(deployment=deployment, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("deployments:capacity", uuid=deployment.uuid)
    context: dict[str, Any] = {"deployment": deployment, "form": form, "capacity_plan": existing}
    if existing is not None:
        plan, at_sla = plan_for(existing)
        context |= {"plan": plan, "at_sla": at_sla}
        if plan is not None and existing.api_price is not None:
            price = existing.api_price
            per_request = api_usd_per_request(
                forecast=plan.forecast,
                input_per_1m=float(price.input_usd_per_1m),
                output_per_1m=float(price.output_usd_per_1m),
            )
            crossover = crossover_requests(plan=plan, api_per_request=per_request)
            context |= {
                "api_monthly": plan.forecast.monthly_requests() * per_request,
                "monthly_requests": plan.forecast.monthly_requests(),
                "crossover": crossover,
                "chart": charts.crossover_chart(
                    plan=plan, api_per_request=per_request, api_name=str(price), crossover=crossover
                )
                if plan.hourly is not None
                else None,
            }
    context["can_edit"] = deployment_user_can_edit(deployment=deployment, user=request.user)
    return render(request, "deployments/loadtest/capacity.html", context)


@provider_required
def api_price_list(request: HttpRequest) -> HttpResponse:
    form = ApiPriceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            api_price_save(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("deployments:api-prices")
    return render(request, "deployments/loadtest/api_prices.html", {"prices": ApiPrice.objects.all(), "form": form})


@provider_required
def api_price_edit(request: HttpRequest, uuid: Any) -> HttpResponse:
    price = get_object_or_404(ApiPrice, uuid=uuid)
    form = ApiPriceForm(request.POST or None, instance=price)
    if request.method == "POST" and form.is_valid():
        try:
            api_price_save(actor=request.user, price=price, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("deployments:api-prices")
    return render(request, "deployments/loadtest/api_price_form.html", {"form": form, "price": price})
