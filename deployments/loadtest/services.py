"""Writes for load tests: start a run (refused up front when the deployment is down), carry it out in the worker,
stop it, and keep its results.

The engine runs in a thread with its own event loop; this thread keeps the database: every second it stores the
requests finished since the last pass, records progress and a heartbeat, scrapes the server's ``/metrics`` every
``SCRAPE_EVERY_S`` and sets the engine's stop flag when someone asked to stop. A sweep runs its levels in turn and
ends early once throughput stops growing or the SLA breaks.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, transaction

from deployments import scrape
from deployments.loadtest import engine
from deployments.loadtest.selectors import level_for, level_stats
from deployments.loadtest.workloads import prompts_for
from deployments.models import ApiPrice, CapacityPlan, Deployment, LoadTest, LoadTestRequest
from deployments.services import deployment_check_health
from deployments.sla import sla_targets
from jobs import services as jobs

SCRAPE_EVERY_S = 5.0
SWEEP_MIN_GAIN = 0.05  # a sweep stops once a level adds less than 5% throughput over the one before
DEFAULT_SWEEP: dict[str, list[float]] = {"concurrency": [1, 2, 4, 8, 16, 32, 64], "rate": [0.5, 1, 2, 4, 8, 16, 32]}


def _levels(*, profile: str, sweep_over: str, concurrency: int, rate: float, sweep_levels: list[float]) -> list[float]:
    if profile == "synchronous":
        return [1.0]
    if profile == "concurrent":
        return [float(concurrency)]
    if profile in ("constant", "poisson"):
        return [float(rate)]
    levels = sorted(set(sweep_levels or DEFAULT_SWEEP[sweep_over]))
    if not levels or levels[0] <= 0:
        raise ValidationError({"sweep_levels": "List positive loads, e.g. 1, 2, 4, 8."})
    return levels


@transaction.atomic
def loadtest_start(
    *,
    deployment: Deployment,
    actor: Any,
    profile: str,
    sweep_over: str = "concurrency",
    concurrency: int = 1,
    rate: float = 0.0,
    sweep_levels: list[float] | None = None,
    prototype: Any = None,
    eval_dataset: Any = None,
    **fields: Any,
) -> LoadTest:
    """Check the deployment answers, then create the run and queue it for the worker.

    Raises ``ValidationError`` when the deployment is down (with the health check's reason) or the settings are bad.
    The RAG workload takes ``prototype`` (its latest version is used) and ``eval_dataset``, both of the deployment's
    engagement.
    """
    rag = _rag_inputs(deployment, prototype, eval_dataset) if fields.get("workload") == "rag" else {}
    checked = deployment_check_health(deployment=deployment)
    if not checked.health_ok:
        raise ValidationError(
            f"{deployment.name} did not answer its health check, so no load test was started: "
            f"{checked.health_error or 'unknown error'}. Start the server (or fix its URL) and try again."
        )
    run = LoadTest(
        deployment=deployment,
        engagement=deployment.engagement,
        started_by=actor,
        profile=profile,
        sweep_over=sweep_over,
        levels=_levels(
            profile=profile,
            sweep_over=sweep_over,
            concurrency=concurrency,
            rate=rate,
            sweep_levels=list(sweep_levels or []),
        ),
        sla=sla_targets(deployment),
        **rag,
        **fields,
    )
    if run.duration_s is None and run.max_requests is None:
        raise ValidationError("Give a duration or a number of requests per level.")
    if run.workload == "replay" and run.engagement is None:
        raise ValidationError({"workload": "Replay needs a deployment that belongs to an engagement."})
    run.total = len(run.levels)
    run.full_clean()
    run.save()
    jobs.enqueue(run)
    return run


def _rag_inputs(deployment: Deployment, prototype: Any, dataset: Any) -> dict[str, Any]:
    """The RAG workload's version and dataset, or a ``ValidationError`` naming the field that is wrong."""
    from rag.models import EvalCase

    engagement = deployment.engagement
    errors: dict[str, str] = {}
    if engagement is None:
        errors["workload"] = "The RAG workload needs a deployment that belongs to an engagement."
    if prototype is None:
        errors["prototype"] = "Choose the prototype whose retrieval and prompts the questions go through."
    elif engagement is not None and prototype.knowledge_base.engagement_id != engagement.pk:
        errors["prototype"] = f"{prototype.name} is not a prototype of {engagement}: choose one of its own."
    if dataset is None:
        errors["eval_dataset"] = "Choose the eval dataset whose questions are asked."
    elif engagement is not None and dataset.knowledge_base.engagement_id != engagement.pk:
        errors["eval_dataset"] = f"{dataset.name} is not an eval dataset of {engagement}: choose one of its own."
    elif not dataset.cases.filter(status=EvalCase.Status.READY).exists():
        errors["eval_dataset"] = f"{dataset.name} has no ready cases: add or approve some first."
    version = prototype.versions.order_by("-number").first() if prototype is not None else None
    if prototype is not None and "prototype" not in errors and version is None:
        errors["prototype"] = f"{prototype.name} has no version yet: save one first."
    if errors:
        raise ValidationError(errors)
    return {"prototype_version": version, "eval_dataset": dataset}


def _rows(run: LoadTest, level: int, results: list[engine.Result]) -> list[LoadTestRequest]:
    return [
        LoadTestRequest(
            run=run,
            level=level,
            index=r.index,
            started_s=r.started_s,
            warmup=r.warmup,
            ok=r.ok,
            error=r.error[:300],
            ttft_ms=r.ttft_ms,
            itl_ms=r.itl_ms,
            tpot_ms=r.tpot_ms,
            e2e_ms=r.e2e_ms,
            prompt_tokens=r.prompt_tokens,
            output_tokens=r.output_tokens,
            retrieval_ms=r.retrieval_ms,
            declined=r.declined,
        )
        for r in results
    ]


def _drain(results: queue.SimpleQueue[engine.Result]) -> list[engine.Result]:
    out = []
    while not results.empty():
        out.append(results.get_nowait())
    return out


class _Level:
    """One level running in its own thread, its finished requests queued for the database thread."""

    def __init__(self, run: LoadTest, index: int, prompts: Any, pool: ThreadPoolExecutor) -> None:
        d = run.deployment
        self.target = engine.Target(base_url=d.base_url, model=d.served_model_name, api_key=d.api_key)
        self.level = level_for(run, index)
        self.results: queue.SimpleQueue[engine.Result] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.prompts, self.pool = prompts, pool
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            engine.run_level(
                target=self.target,
                level=self.level,
                prompts=self.prompts,
                on_result=self.results.put,
                stop=self.stop,
                pool=self.pool,
            )
        except BaseException as exc:  # handed to the database thread, which records it
            self.error = exc


def _pass(run: LoadTest, index: int, level: _Level, last_scrape: float) -> float:
    """Store the finished requests, beat, scrape on schedule and pass a stop request on; returns the scrape time."""
    LoadTestRequest.objects.bulk_create(_rows(run, index, _drain(level.results)), ignore_conflicts=True)
    if not jobs.heartbeat(run):
        level.stop.set()
    if run.deployment.engine == Deployment.Engine.VLLM and time.monotonic() - last_scrape >= SCRAPE_EVERY_S:
        scrape.server_metrics_scrape(deployment=run.deployment)
        return time.monotonic()
    return last_scrape


def _sweep_should_stop(run: LoadTest, index: int) -> str:
    stats = {s.level: s for s in level_stats(run=run)}
    here = stats.get(index)
    if here is None:
        return "the level finished no request"
    if here.breaches:
        return f"the SLA broke at {run.levels[index]:g}: {here.breaches[0]}"
    before = stats.get(index - 1)
    if before and before.rps and here.rps is not None and here.rps < before.rps * (1 + SWEEP_MIN_GAIN):
        return f"throughput stopped growing at {run.levels[index]:g} ({here.rps:.2f} req/s after {before.rps:.2f})"
    return ""


def loadtest_work(run: LoadTest) -> None:
    """Run the levels not finished yet (all of them, unless this is a retry); the job services record the outcome.

    Ends early, keeping every request measured, when a stop is requested, when the server stops answering, or when a
    sweep's throughput stops growing or its SLA breaks.
    """
    run = jobs.held(run, LoadTest.objects.select_related("deployment", "engagement").get(pk=run.pk))
    first = run.progress
    LoadTestRequest.objects.filter(run=run, level__gte=first).delete()  # a half-done level from a lost worker
    try:
        prompts = prompts_for(run)
    except ValueError as exc:
        jobs.fail(run, str(exc))
        return
    # One pool for the whole run, so the RAG workload's retrieval threads keep their database connections from level
    # to level, as a web process's threads do, and close them once at the end.
    with ThreadPoolExecutor(engine.PREPARE_THREADS, thread_name_prefix="loadtest-retrieval") as pool:
        try:
            _work_levels(run, first, prompts, pool)
        finally:
            if run.workload == "rag":
                _close_connections(pool, workers=engine.PREPARE_THREADS)


def _close_connections(pool: ThreadPoolExecutor, *, workers: int) -> None:
    """Close the database connection of each of the pool's ``workers`` threads: each thread takes exactly one of
    these tasks, since none finishes before all have started."""
    everyone = threading.Barrier(workers)

    def close() -> None:
        connections.close_all()
        everyone.wait(timeout=30)

    for done in [pool.submit(close) for _ in range(workers)]:
        with contextlib.suppress(threading.BrokenBarrierError):  # a retrieval still running: its thread ends anyway
            done.result()


def _work_levels(run: LoadTest, first: int, prompts: Any, pool: ThreadPoolExecutor) -> None:
    last_scrape = 0.0
    for index in range(first, len(run.levels)):
        load = run.levels[index]
        jobs.heartbeat(run, step=f"level {index + 1} of {len(run.levels)}: {load:g}")
        level = _Level(run, index, prompts, pool)
        while level.thread.is_alive():
            level.thread.join(timeout=1.0)
            last_scrape = _pass(run, index, level, last_scrape)
        _pass(run, index, level, last_scrape)
        if isinstance(level.error, engine.ServerGone):
            jobs.fail(run, f"The server stopped answering at load {load:g}: {level.error}. {KEPT}")
            return
        if level.error is not None:
            jobs.fail(run, f"The load generator stopped: {type(level.error).__name__}: {level.error}. {KEPT}")
            return
        jobs.heartbeat(run, progress=index + 1)
        if level.stop.is_set():
            break
        if run.profile == "sweep" and index < len(run.levels) - 1 and (why := _sweep_should_stop(run, index)):
            LoadTest.objects.filter(pk=run.pk).update(note=f"The sweep ended early because {why}.")
            break
    jobs.finish(run)


KEPT = "The requests measured before are kept."


def loadtest_execute(*, run_id: int) -> LoadTest | None:
    """The task's body: claim the run and carry it out; None when another worker has it or it already ended."""
    return jobs.execute(LoadTest, run_id, loadtest_work)


@transaction.atomic
def capacity_plan_save(*, deployment: Deployment, actor: Any, **fields: Any) -> CapacityPlan:
    """Create or update the capacity plan of the deployment's engagement for this deployment."""
    if deployment.engagement is None:
        raise ValidationError("A capacity plan belongs to an engagement: attach the deployment to one first.")
    plan = CapacityPlan.objects.filter(engagement=deployment.engagement, deployment=deployment).first()
    return _save(plan or CapacityPlan(engagement=deployment.engagement, deployment=deployment), actor, fields)


@transaction.atomic
def api_price_save(*, actor: Any, price: ApiPrice | None = None, **fields: Any) -> ApiPrice:
    return _save(price or ApiPrice(), actor, fields)


def _save(row: Any, actor: Any, fields: dict[str, Any]) -> Any:
    for name, value in fields.items():
        setattr(row, name, value)
    row.updated_by = actor
    row.full_clean()
    row.save()
    return row
