"""REST endpoints for load tests: list a deployment's runs, read one run's figures per level, start a run.

Load tests are internal records: provider staff only; anyone else gets 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from accounts.selectors import user_is_provider
from deployments.loadtest.selectors import LevelStats, level_stats, loadtest_get_for_user, loadtest_list_for_user
from deployments.loadtest.services import loadtest_start
from deployments.selectors import deployment_get_for_user, deployment_user_can_edit

router = Router(tags=["Load tests"])


class LevelOut(Schema):
    level: int
    load: float | None
    requests: int
    errors: int
    requests_per_s: float | None
    output_tokens_per_s: float | None
    total_tokens_per_s: float | None
    goodput_requests_per_s: float | None
    sla_attainment: float | None
    error_rate: float | None
    holds_sla: bool
    sla_breaches: list[str]
    percentiles_ms: dict[str, float | None]


class RunOut(Schema):
    uuid: UUID
    deployment: UUID
    name: str
    source: str
    profile: str
    levels: list[float]
    workload: str
    status: str
    note: str
    last_error: str
    queued_at: datetime
    finished_at: datetime | None


class RunDetailOut(RunOut):
    sla: dict[str, float]
    results: list[LevelOut]


class RunFilter(Schema):
    deployment: UUID | None = None


class RunIn(Schema):
    deployment: UUID
    profile: Literal["synchronous", "concurrent", "constant", "poisson", "sweep"]
    name: str = ""
    concurrency: int = 1
    rate: float = 0.0
    sweep_over: Literal["concurrency", "rate"] = "concurrency"
    sweep_levels: list[float] = []
    duration_s: int | None = 30
    max_requests: int | None = None
    warmup_s: int = 0
    seed: int = 0
    workload: Literal["synthetic", "shared_prefix", "replay", "rag"] = "synthetic"
    input_tokens: int = 128
    input_tokens_sd: int = 0
    output_tokens: int = 64
    output_tokens_sd: int = 0
    fixed_output: bool = True
    prefix_tokens: int = 0
    prototype: UUID | None = None  # the RAG workload's prototype and eval dataset, of the deployment's engagement
    eval_dataset: UUID | None = None


def _provider(request: HttpRequest) -> None:
    if not user_is_provider(request.user):
        raise Http404("No such load test.")


def _run_out(run: Any) -> dict[str, Any]:
    return {
        "uuid": run.uuid, "deployment": run.deployment.uuid, "name": str(run), "source": run.source,
        "profile": run.profile, "levels": run.levels, "workload": run.workload, "status": run.status,
        "note": run.note, "last_error": run.last_error, "queued_at": run.queued_at, "finished_at": run.finished_at,
    }  # fmt: skip


def _level_out(s: LevelStats) -> dict[str, Any]:
    return {
        "level": s.level, "load": s.load, "requests": s.requests, "errors": s.errors, "requests_per_s": s.rps,
        "output_tokens_per_s": s.output_tps, "total_tokens_per_s": s.total_tps, "goodput_requests_per_s": s.goodput_rps,
        "sla_attainment": s.attainment, "error_rate": s.error_rate, "holds_sla": s.holds_sla,
        "sla_breaches": s.breaches, "percentiles_ms": s.pct,
    }  # fmt: skip


@router.get("/", response=list[RunOut])
def list_load_tests(request: HttpRequest, filters: Query[RunFilter]) -> Any:
    _provider(request)
    runs = loadtest_list_for_user(user=request.user)
    if filters.deployment:
        runs = runs.filter(deployment__uuid=filters.deployment)
    return [_run_out(r) for r in runs[:200]]


@router.get("/{uuid}", response=RunDetailOut)
def get_load_test(request: HttpRequest, uuid: UUID) -> Any:
    """One run with its figures per level (percentiles in SQL over the measured requests)."""
    _provider(request)
    run = loadtest_get_for_user(user=request.user, uuid=uuid)
    if run is None:
        raise Http404("No such load test.")
    return {**_run_out(run), "sla": run.sla, "results": [_level_out(s) for s in level_stats(run=run)]}


def _of_engagement(model: Any, uuid: UUID | None, deployment: Any, what: str) -> Any:
    if uuid is None:
        return None  # the service says the RAG workload needs one
    found = model.objects.filter(uuid=uuid, knowledge_base__engagement_id=deployment.engagement_id).first()
    if found is None:
        raise HttpError(422, f"There is no {what} {uuid} in this deployment's engagement.")
    return found


@router.post("/", response={201: RunOut})
def start_load_test(request: HttpRequest, payload: RunIn) -> Any:
    """Queue a load test; refused with 422 and the health check's reason when the deployment does not answer."""
    _provider(request)
    deployment = deployment_get_for_user(user=request.user, uuid=payload.deployment)
    if deployment is None:
        raise Http404("No such deployment.")
    if not deployment_user_can_edit(deployment=deployment, user=request.user):
        raise HttpError(403, "Only the engagement's team can run load tests on this deployment.")
    fields = payload.dict(exclude={"deployment", "prototype", "eval_dataset"})
    if payload.workload == "rag":
        from rag.models import EvalDataset, Prototype

        fields["prototype"] = _of_engagement(Prototype, payload.prototype, deployment, "prototype")
        fields["eval_dataset"] = _of_engagement(EvalDataset, payload.eval_dataset, deployment, "eval dataset")
    try:
        run = loadtest_start(deployment=deployment, actor=request.user, **fields)
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages)) from exc
    return 201, _run_out(run)
