"""The Jobs page, and the progress partial's poll, cancel and retry, for every kind of job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling, trigger_client_event

from accounts.decorators import provider_required
from engagements.selectors import engagement_list_for_user
from jobs import registry, selectors, services
from jobs.forms import JobFilterForm
from jobs.inspection import queue_state
from jobs.models import Job
from jobs.periodic import periodic_states


def _get_job(request: HttpRequest, kind: str, uuid: Any, *, write: bool = False) -> Job:
    job = selectors.job_get_for_user(user=request.user, kind=kind, uuid=uuid)
    if job is None:
        raise Http404("No such job.")
    if write and not selectors.job_user_can_change(job=job, user=request.user):
        raise PermissionDenied("Only the engagement's team cancels or retries its jobs.")
    return job


def _partial(request: HttpRequest, job: Job) -> str:
    context = {"job": job, "compact": request.GET.get("compact") == "1"}
    return render_to_string("jobs/_progress.html", context, request=request)


@provider_required
def progress(request: HttpRequest, kind: str, uuid: Any) -> HttpResponse:
    job = _get_job(request, kind, uuid)
    html = _partial(request, job)
    if job.is_active or not getattr(request, "htmx", False):
        return HttpResponse(html)
    # Ended: htmx stops polling on 286; the owning page hears the kind's event, or reloads once to show results.
    response = HttpResponseStopPolling(html)
    trigger_client_event(response, job.finished_event)
    if job.reload_on_finish and request.GET.get("compact") != "1":
        response["HX-Refresh"] = "true"
    return response


def _after_action(request: HttpRequest, job: Job) -> HttpResponse:
    if getattr(request, "htmx", False):
        return HttpResponse(_partial(request, job))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = job.get_absolute_url() or "jobs:list"
    return redirect(target)


def _act(request: HttpRequest, kind: str, uuid: Any, action: Callable[[Job], None]) -> HttpResponse:
    job = _get_job(request, kind, uuid, write=True)
    try:
        action(job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        job.refresh_from_db()
    return _after_action(request, job)


@provider_required
@require_POST
def cancel(request: HttpRequest, kind: str, uuid: Any) -> HttpResponse:
    return _act(request, kind, uuid, services.request_cancel)


@provider_required
@require_POST
def retry(request: HttpRequest, kind: str, uuid: Any) -> HttpResponse:
    return _act(request, kind, uuid, services.retry)


@provider_required
def job_list(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET or None, engagements=engagement_list_for_user(user=request.user))
    jobs = selectors.job_list_for_user(user=request.user, **form.filters())
    context = {
        "form": form,
        "jobs": jobs,
        "kinds": registry.kinds(),
        "counts": selectors.job_counts_for_user(user=request.user),
        "job_editable_engagements": selectors.job_editable_engagement_ids(user=request.user),
        "queue": queue_state(),
    }
    if getattr(request, "htmx", False):
        return render(request, "jobs/_table.html", context)
    return render(request, "jobs/list.html", {**context, "periodic": periodic_states()})
