"""Load-test pages: a deployment's runs (start one, import a file), a run's results, comparison and export."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from accounts.decorators import provider_required
from deployments.loadtest import charts
from deployments.loadtest.capacity import capacity_at_sla
from deployments.loadtest.engine import PREPARE_THREADS
from deployments.loadtest.forms import ImportForm, LoadTestForm
from deployments.loadtest.imports import loadtest_import
from deployments.loadtest.selectors import (
    best_under_sla,
    knee,
    level_stats,
    loadtest_get_for_user,
    loadtest_list_for_user,
    run_distributions,
    run_server_summary,
)
from deployments.loadtest.services import loadtest_start
from deployments.models import LoadTest, LoadTestRequest
from deployments.selectors import deployment_user_can_edit
from deployments.views.endpoints import _get_deployment_for_user

EXPORT_FIELDS = ["level", "index", "started_s", "warmup", "ok", "error", "ttft_ms", "itl_ms", "tpot_ms", "e2e_ms",
                 "prompt_tokens", "output_tokens", "retrieval_ms", "declined"]  # fmt: skip


def _get_run_for_user(request: HttpRequest, uuid: Any, *, write: bool = False) -> LoadTest:
    run = loadtest_get_for_user(user=request.user, uuid=uuid)
    if run is None:
        raise Http404("No such load test.")
    if write and not deployment_user_can_edit(deployment=run.deployment, user=request.user):
        raise PermissionDenied("Only the engagement's team can run load tests on this deployment.")
    return run


@provider_required
def loadtest_list(request: HttpRequest, uuid: Any) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid)
    form = LoadTestForm(request.POST or None, engagement=deployment.engagement)
    if request.method == "POST":
        _get_deployment_for_user(request, uuid, write=True)
        if form.is_valid():
            fields = dict(form.cleaned_data)
            try:
                run = loadtest_start(deployment=deployment, actor=request.user, **fields)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("deployments:loadtest", uuid=run.uuid)
    runs = loadtest_list_for_user(user=request.user).filter(deployment=deployment)
    context = {
        "deployment": deployment,
        "runs": runs[:100],
        "form": form,
        "import_form": ImportForm(),
        "at_sla": capacity_at_sla(deployment=deployment),
        "can_edit": deployment_user_can_edit(deployment=deployment, user=request.user),
    }
    return render(request, "deployments/loadtest/list.html", context)


@provider_required
def loadtest_import_view(request: HttpRequest, uuid: Any) -> HttpResponse:
    deployment = _get_deployment_for_user(request, uuid, write=True)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = loadtest_import(
                deployment=deployment, actor=request.user, filename=upload.name, content=upload.read()
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Imported {upload.name}.")
            return redirect("deployments:loadtest", uuid=run.uuid)
    elif request.method == "POST":
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("deployments:loadtests", uuid=deployment.uuid)


def _results(run: LoadTest) -> dict[str, Any]:
    levels = level_stats(run=run)
    best = best_under_sla(levels)
    bend = knee(levels) if len(levels) > 1 else None
    ttft, itl = run_distributions(run=run)
    return {
        "levels": levels,
        "best": best,
        "knee": bend,
        "curve": charts.curve_chart(levels=levels, knee=bend, best=best) if len(levels) > 1 else None,
        "distribution": charts.distribution_chart(ttft=ttft, itl=itl) if ttft else None,
        "server": run_server_summary(run=run),
        "requests_done": LoadTestRequest.objects.filter(run=run).count(),
        "prepare_threads": PREPARE_THREADS,
    }


@provider_required
def loadtest_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    run = _get_run_for_user(request, uuid)
    return render(request, "deployments/loadtest/detail.html", {"run": run, "job": run, **_results(run)})


@provider_required
def loadtest_live(request: HttpRequest, uuid: Any) -> HttpResponse:
    """The per-level table, refreshed while the run is active (requests done, rates, live p95s)."""
    run = _get_run_for_user(request, uuid)
    return render(request, "deployments/loadtest/_live.html", {"run": run, **_results(run)})


@provider_required
def loadtest_export(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Every request of the run with the per-level summary, as ``?as=json`` (the default) or ``?as=csv``."""
    run = _get_run_for_user(request, uuid)
    fmt = request.GET.get("as", "json")
    rows = LoadTestRequest.objects.filter(run=run).order_by("level", "index").values_list(*EXPORT_FIELDS)
    filename = f"load-test-{run.uuid}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv")
        writer = csv.writer(response)
        writer.writerow(EXPORT_FIELDS)
        writer.writerows(rows.iterator())
    elif fmt == "json":
        body = {
            "run": {"uuid": str(run.uuid), "deployment": run.deployment.name, "profile": run.profile,
                    "levels": run.levels, "workload": run.workload, "sla": run.sla, "status": run.status,
                    "source": run.source},
            "summary": [_level_json(s) for s in level_stats(run=run)],
            "requests": [dict(zip(EXPORT_FIELDS, row, strict=True)) for row in rows.iterator()],
        }  # fmt: skip
        response = JsonResponse(body, json_dumps_params={"indent": 1})
    else:
        raise Http404("Export as csv or json.")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _level_json(stats: Any) -> dict[str, Any]:
    return {
        "level": stats.level, "load": stats.load, "requests": stats.requests, "errors": stats.errors,
        "requests_per_s": stats.rps, "output_tokens_per_s": stats.output_tps, "total_tokens_per_s": stats.total_tps,
        "goodput_requests_per_s": stats.goodput_rps, "sla_attainment": stats.attainment,
        "error_rate": stats.error_rate, "sla_breaches": stats.breaches, **stats.pct,
    }  # fmt: skip


@provider_required
def loadtest_compare(request: HttpRequest) -> HttpResponse:
    runs = list(loadtest_list_for_user(user=request.user).filter(uuid__in=request.GET.getlist("run")[:8]))
    if not runs:
        raise Http404("Choose the runs to compare.")
    rows = [(run, level_stats(run=run)) for run in runs]
    chart = charts.compare_chart([(f"{run.deployment.name}: {run}", levels) for run, levels in rows])
    summary = [(run, best_under_sla(levels), levels) for run, levels in rows]
    return render(request, "deployments/loadtest/compare.html", {"summary": summary, "chart": chart})
