"""The launch planner (for a deployment's settings, or for any model and hardware) and the launch files."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import provider_required
from deployments import launch
from deployments.models import HardwareType, KvCacheDtype, Quantization
from deployments.planner import PlanInput, plan, plan_for_deployment
from deployments.views.endpoints import _get_deployment_for_user

LAUNCH_FILES = {
    "command": (
        "vllm-serve.sh",
        "text/x-shellscript",
        lambda d: "#!/usr/bin/env bash\n" + launch.serve_command(d) + "\n",
    ),
    "compose": ("compose.yaml", "application/yaml", launch.compose_yaml),
    "kubernetes": ("kubernetes.yaml", "application/yaml", launch.kubernetes_yaml),
}


def _what_fits(inp: PlanInput) -> list[dict[str, Any]]:
    """For every GPU in the catalogue and every quantization: how many devices, and how many sequences on them."""
    rows = []
    for hardware in HardwareType.objects.filter(is_cpu=False):
        cells = []
        for value, label in Quantization.choices:
            trial = PlanInput(**{**inp.__dict__, "quantization": value, "device_memory_gib": float(hardware.memory_gib),
                                 "device_name": hardware.name, "is_cpu": False, "device_count": 1,
                                 "tensor_parallel_size": 1})  # fmt: skip
            needed = plan(trial).devices_needed
            if needed is not None:
                trial = PlanInput(**{**trial.__dict__, "device_count": needed, "tensor_parallel_size": needed})
            cells.append({"label": label, "devices": needed, "plan": plan(trial) if needed else None})
        rows.append({"hardware": hardware, "cells": cells})
    return rows


@provider_required
def deployment_plan(request: HttpRequest, uuid: Any) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid)
    result = plan_for_deployment(deployment)
    context = {
        "deployment": deployment,
        "plan": result,
        "what_fits": _what_fits(result.inp) if result else [],
        "command": launch.serve_command(deployment),
        "compose": launch.compose_yaml(deployment),
        "kubernetes": launch.kubernetes_yaml(deployment),
    }
    return render(request, "deployments/plan.html", context)


@provider_required
def deployment_launch_file(request: HttpRequest, uuid: Any, kind: str) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid)
    if kind not in LAUNCH_FILES:
        raise Http404("No such launch file.")
    filename, content_type, build = LAUNCH_FILES[kind]
    response = HttpResponse(build(deployment), content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{launch.slug(deployment)}-{filename}"'
    return response


class PlannerForm(forms.Form):
    parameters_b = forms.DecimalField(label="parameters (billions)", min_value=0.001, max_digits=9, decimal_places=3)
    num_layers = forms.IntegerField(label="layers", min_value=1)
    num_kv_heads = forms.IntegerField(label="KV heads", min_value=1)
    head_dim = forms.IntegerField(label="head size", min_value=1)
    quantization = forms.ChoiceField(choices=Quantization.choices)
    kv_cache_dtype = forms.ChoiceField(label="KV-cache type", choices=KvCacheDtype.choices, initial="auto")
    max_model_len = forms.IntegerField(label="max model length (tokens)", min_value=1, initial=8192)
    hardware = forms.ModelChoiceField(queryset=HardwareType.objects.all())
    device_count = forms.IntegerField(label="devices", min_value=1, max_value=64, initial=1)
    gpu_memory_utilization = forms.DecimalField(
        label="GPU memory fraction", min_value=0.1, max_value=0.99, initial=0.9, decimal_places=2
    )
    max_num_seqs = forms.IntegerField(label="max concurrent sequences", min_value=1, initial=256)


@provider_required
def planner(request: HttpRequest) -> HttpResponse:
    """Try any model on any hardware before registering it; the form is a GET so a plan can be shared as a link."""
    form = PlannerForm(request.GET or None)
    result, fits = None, []
    if form.is_valid():
        data, hardware = form.cleaned_data, form.cleaned_data["hardware"]
        inp = PlanInput(
            parameters_b=float(data["parameters_b"]), num_layers=data["num_layers"], num_kv_heads=data["num_kv_heads"],
            head_dim=data["head_dim"], quantization=data["quantization"], kv_cache_dtype=data["kv_cache_dtype"],
            max_model_len=data["max_model_len"], device_memory_gib=float(hardware.memory_gib),
            device_count=data["device_count"], device_name=hardware.name, is_cpu=hardware.is_cpu,
            gpu_memory_utilization=float(data["gpu_memory_utilization"]), max_num_seqs=data["max_num_seqs"],
        )  # fmt: skip
        result, fits = plan(inp), _what_fits(inp)
    return render(request, "deployments/planner.html", {"form": form, "plan": result, "what_fits": fits})
