"""FDE pages for evaluation: datasets and their cases, runs with progress, comparisons, and the feedback queue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import provider_required
from deployments.gateway import ModelEndpointError
from deployments.models import Deployment
from engagements.models import Requirement
from engagements.selectors import engagement_list_for_user, engagement_user_can_edit
from rag.models import EvalCase, EvalDataset, EvalRun, KnowledgeBase
from rag.prototypes import comparison, datasets, evals, feedback, selectors
from rag.prototypes.drafting import eval_cases_draft
from rag.prototypes.forms import CaseForm, DatasetForm, DraftForm, ImportForm, RunForm


def _dataset(request: HttpRequest, uuid: Any, *, edit: bool = False) -> EvalDataset:
    dataset = selectors.dataset_get_for_user(user=request.user, uuid=uuid)
    if dataset is None:
        raise Http404("No such dataset.")
    if edit and not engagement_user_can_edit(engagement=dataset.knowledge_base.engagement, user=request.user):
        raise Http404("Only the engagement's team changes its datasets.")
    return dataset


def _run(request: HttpRequest, uuid: Any) -> EvalRun:
    run = selectors.run_get_for_user(user=request.user, uuid=uuid)
    if run is None:
        raise Http404("No such eval run.")
    return run


def _kbs(request: HttpRequest) -> Any:
    return KnowledgeBase.objects.filter(engagement__in=engagement_list_for_user(user=request.user))


def _judges(dataset: EvalDataset) -> Any:
    """Deployments that may judge this dataset's answers: shared ones and its own engagement's, never another's."""
    engagement = dataset.knowledge_base.engagement
    return Deployment.objects.filter(is_active=True).filter(Q(engagement__isnull=True) | Q(engagement=engagement))


def _dataset_context(request: HttpRequest, dataset: EvalDataset, **forms: Any) -> dict[str, Any]:
    prototypes = selectors.prototype_list_for_user(user=request.user).filter(knowledge_base=dataset.knowledge_base)
    requirements = Requirement.objects.filter(engagement=dataset.knowledge_base.engagement)
    runs = list(dataset.runs.select_related("version__prototype", "dataset").order_by("-queued_at"))
    baseline = next((run for run in runs if run.is_baseline), None)
    for run in runs:
        run.regressions = evals.eval_run_regressions(run=run, baseline=baseline)  # type: ignore[attr-defined]
    return {
        "dataset": dataset,
        "cases": dataset.cases.select_related("requirement").order_by("status", "external_id"),
        "runs": runs,
        "case_form": forms.get("case_form") or CaseForm(requirements=requirements),
        "import_form": forms.get("import_form") or ImportForm(),
        "run_form": forms.get("run_form") or RunForm(prototypes=prototypes, judges=_judges(dataset)),
        "draft_form": forms.get("draft_form") or DraftForm(prototypes=prototypes),
        "can_edit": engagement_user_can_edit(engagement=dataset.knowledge_base.engagement, user=request.user),
    }


@provider_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    form = DatasetForm(request.POST or None, knowledge_bases=_kbs(request))
    if request.method == "POST" and form.is_valid():
        kb = form.cleaned_data["knowledge_base"]
        if engagement_user_can_edit(engagement=kb.engagement, user=request.user):
            try:
                dataset = datasets.eval_dataset_create(
                    knowledge_base=kb, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
                )
                return redirect("rag:eval-dataset", uuid=dataset.uuid)
            except ValidationError as exc:
                form.add_error(None, exc)
        else:
            form.add_error("knowledge_base", "Only the engagement's team can add datasets to it.")
    items = selectors.dataset_list_for_user(user=request.user).order_by("knowledge_base__name", "name")
    return render(request, "rag/eval/datasets.html", {"datasets": items, "form": form})


@provider_required
def dataset_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    dataset = _dataset(request, uuid)
    return render(request, "rag/eval/dataset.html", _dataset_context(request, dataset))


@provider_required
@require_POST
def case_add(request: HttpRequest, uuid: Any) -> HttpResponse:
    dataset = _dataset(request, uuid, edit=True)
    requirements = Requirement.objects.filter(engagement=dataset.knowledge_base.engagement)
    form = CaseForm(request.POST, requirements=requirements)
    if form.is_valid():
        try:
            datasets.eval_case_save(dataset=dataset, **form.values())
            messages.success(request, "Case saved.")
            return redirect("rag:eval-dataset", uuid=dataset.uuid)
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "rag/eval/dataset.html", _dataset_context(request, dataset, case_form=form), status=422)


@provider_required
@require_POST
def cases_import(request: HttpRequest, uuid: Any) -> HttpResponse:
    dataset = _dataset(request, uuid, edit=True)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = datasets.eval_cases_import(dataset=dataset, name=upload.name, data=upload.read())
            messages.success(request, f"Imported {report.created} new and updated {report.updated} cases.")
            return redirect("rag:eval-dataset", uuid=dataset.uuid)
        except ValidationError as exc:
            form.add_error("file", exc)
    return render(request, "rag/eval/dataset.html", _dataset_context(request, dataset, import_form=form), status=422)


@provider_required
@require_POST
def cases_draft(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Draft cases with the model; from the page one case per request, so each shows progress within seconds."""
    dataset = _dataset(request, uuid, edit=True)
    prototypes = selectors.prototype_list_for_user(user=request.user).filter(knowledge_base=dataset.knowledge_base)
    form = DraftForm(request.POST, prototypes=prototypes)
    if not form.is_valid():
        messages.error(request, "Choose a prototype and how many cases to draft (1 to 5).")
        return redirect("rag:eval-dataset", uuid=dataset.uuid)
    version = selectors.prototype_latest_version(prototype=form.cleaned_data["prototype"])
    count, htmx = form.cleaned_data["count"], getattr(request, "htmx", False)
    done = min(max(int(request.POST.get("done") or 0), 0), count)
    context: dict[str, Any] = {"dataset": dataset, "form": form, "count": count, "error": ""}
    try:
        drafted = eval_cases_draft(dataset=dataset, version=version, count=1 if htmx else count)
    except ModelEndpointError as exc:
        drafted, context["error"] = [], str(exc)
    if not htmx:
        if context["error"]:
            messages.error(request, context["error"])
        else:
            messages.success(request, f"The model drafted {len(drafted)} cases: review them before they are used.")
        return redirect("rag:eval-dataset", uuid=dataset.uuid)
    # A reply that was not valid JSON counts as an attempt, so the loop always ends.
    context["done"] = done + 1
    context["finished"] = bool(context["error"]) or context["done"] >= count
    context["percent"] = int(100 * context["done"] / count)
    return render(request, "rag/eval/_draft_progress.html", context)


@provider_required
@require_POST
def case_approve(request: HttpRequest, uuid: Any, case: Any) -> HttpResponse:
    dataset = _dataset(request, uuid, edit=True)
    item = dataset.cases.filter(uuid=case).first()
    if item is None:
        raise Http404("No such case.")
    if request.POST.get("action") == "discard" and item.status == EvalCase.Status.DRAFT:
        item.delete()
    else:
        datasets.eval_case_approve(
            case=item,
            question=request.POST.get("question") or None,
            reference_answer=request.POST.get("reference_answer"),
        )
    return redirect("rag:eval-dataset", uuid=dataset.uuid)


@provider_required
@require_POST
def run_create(request: HttpRequest, uuid: Any) -> HttpResponse:
    dataset = _dataset(request, uuid, edit=True)
    prototypes = selectors.prototype_list_for_user(user=request.user).filter(knowledge_base=dataset.knowledge_base)
    form = RunForm(request.POST, prototypes=prototypes, judges=_judges(dataset))
    if form.is_valid():
        version = selectors.prototype_latest_version(prototype=form.cleaned_data["prototype"])
        try:
            run = evals.eval_run_create(
                version=version,
                dataset=dataset,
                user=request.user,
                k=form.cleaned_data["k"],
                use_judge=form.cleaned_data["use_judge"],
                judge_deployment=form.cleaned_data["judge"],
            )
            return redirect("rag:eval-run", uuid=run.uuid)
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "rag/eval/dataset.html", _dataset_context(request, dataset, run_form=form), status=422)


@provider_required
def run_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    run = _run(request, uuid)
    return render(request, "rag/eval/run.html", comparison.run_context(run=run))


@provider_required
@require_POST
def run_baseline(request: HttpRequest, uuid: Any) -> HttpResponse:
    run = _run(request, uuid)
    if not engagement_user_can_edit(engagement=run.dataset.knowledge_base.engagement, user=request.user):
        raise Http404("Only the engagement's team sets baselines.")
    try:
        evals.eval_run_mark_baseline(run=run)
        messages.success(request, "This run is now the dataset's baseline; later runs are checked against it.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("rag:eval-run", uuid=run.uuid)


@provider_required
def run_compare(request: HttpRequest) -> HttpResponse:
    runs = list(selectors.run_list_for_user(user=request.user).filter(uuid__in=request.GET.getlist("runs")))
    if len(runs) < 2:
        messages.error(request, "Pick at least two finished runs of the same dataset to compare.")
        return redirect("rag:eval-datasets")
    return render(request, "rag/eval/compare.html", comparison.compare_context(runs=runs))


@provider_required
def feedback_queue(request: HttpRequest) -> HttpResponse:
    items = selectors.feedback_queue_for_user(user=request.user)
    return render(request, "rag/eval/feedback_queue.html", {"items": items})


@provider_required
@require_POST
def feedback_review(request: HttpRequest, uuid: Any) -> HttpResponse:
    item = selectors.feedback_get_for_user(user=request.user, uuid=uuid)
    if item is None:
        raise Http404("No such feedback.")
    engagement = item.answer.version.prototype.knowledge_base.engagement
    if not engagement_user_can_edit(engagement=engagement, user=request.user):
        raise Http404("Only the engagement's team reviews its feedback.")
    note = request.POST.get("fix_note", "")
    try:
        if request.POST.get("action") == "accept":
            requirement = Requirement.objects.filter(
                engagement=engagement, pk=request.POST.get("requirement") or 0
            ).first()
            case = feedback.feedback_accept(
                feedback=item, reviewer=request.user, requirement=requirement, fix_note=note
            )
            messages.success(request, f"The correction is now eval case {case.external_id} in {case.dataset}.")
        else:
            feedback.feedback_dismiss(feedback=item, reviewer=request.user, fix_note=note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("rag:feedback-queue")
