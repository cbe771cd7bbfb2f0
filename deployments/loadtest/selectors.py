"""Reads for load tests: who may see which run, the per-level figures (aggregated in SQL), and what a run judges.

A request *meets the SLA* when it succeeded and its own time to first token, mean inter-token gap, end-to-end time
and tokens/s (1000 / mean gap) are each within the run's targets; **goodput** is such requests per second. A level
*holds the SLA* when its p95s and error rate are within the targets, as the SLA alerts judge a window.

In the RAG workload a question the prototype declines is a request served (it counts in requests/s, and meets the
SLA when the decline came within the targets) but not a generation: it stays out of the latency percentiles, which
describe the deployment's answers. Its retrieval time is in the retrieval percentiles with everyone else's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, FloatField, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from deployments.loadtest.engine import Level
from deployments.models import Deployment, LoadTest, LoadTestRequest, ServerSample
from deployments.selectors import Percentile, deployment_list_for_user
from deployments.sla import judge

METRICS = ("ttft", "itl", "tpot", "e2e")
QUANTILES = ((0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99"))
RETRIEVAL_QUANTILES = ((0.5, "p50"), (0.95, "p95"))


def loadtest_list_for_user(*, user: Any) -> QuerySet[LoadTest]:
    return LoadTest.objects.filter(deployment__in=deployment_list_for_user(user=user)).select_related(
        "deployment__hardware", "engagement"
    )


def loadtest_get_for_user(*, user: Any, uuid: Any) -> LoadTest | None:
    return loadtest_list_for_user(user=user).filter(uuid=uuid).first()


def logged_questions(*, engagement: Any, limit: int = 2000) -> list[str]:
    """The distinct questions people asked the engagement's prototypes, most recent first."""
    if engagement is None:
        return []
    from rag.models import Answer

    rows = (
        Answer.objects.filter(version__prototype__knowledge_base__engagement=engagement)
        .order_by("question", "-created_at")
        .distinct("question")
        .values_list("question", flat=True)[:limit]
    )
    return list(rows)


def rag_workload_inputs(*, run: LoadTest) -> tuple[Any, list[str]]:
    """The RAG workload's prototype version (with what retrieval reads, loaded once for every thread) and the ready
    questions of its eval dataset; ``ValueError`` when either is gone."""
    from rag.models import EvalCase, PrototypeVersion

    if run.prototype_version_id is None or run.eval_dataset_id is None:
        raise ValueError("the RAG workload's prototype or eval dataset was deleted after the run was queued")
    version = PrototypeVersion.objects.select_related(
        "prototype__knowledge_base__engagement", "deployment", "embedding_model"
    ).get(pk=run.prototype_version_id)
    cases = EvalCase.objects.filter(dataset_id=run.eval_dataset_id, status=EvalCase.Status.READY).order_by("pk")
    return version, list(cases.values_list("question", flat=True))


def sla_request_filter(sla: dict[str, float]) -> Q:
    """The requests that met every per-request target of ``sla`` (the keys of ``deployments.sla.TARGETS``)."""
    met = Q(ok=True)
    if "ttft_p95_ms" in sla:
        met &= Q(ttft_ms__lte=sla["ttft_p95_ms"])
    itl_limits = [sla["itl_p95_ms"]] if "itl_p95_ms" in sla else []
    if sla.get("tokens_per_s"):
        itl_limits.append(1000.0 / sla["tokens_per_s"])
    if itl_limits:
        met &= Q(itl_ms__lte=min(itl_limits)) | Q(itl_ms__isnull=True)
    if "e2e_p95_ms" in sla:
        met &= Q(e2e_ms__lte=sla["e2e_p95_ms"])
    return met


@dataclass
class LevelStats:
    level: int
    load: float | None  # the concurrency or rate asked for; None for imported runs that do not say
    requests: int
    errors: int
    good: int
    span_s: float
    output_tokens: float
    prompt_tokens: float
    good_output_tokens: float
    declined: int = 0  # RAG workload: questions the prototype declined (no generation)
    pct: dict[str, float | None] = field(default_factory=dict)  # e.g. pct["ttft_p95"]
    breaches: list[str] = field(default_factory=list)

    def _per_s(self, amount: float) -> float | None:
        return amount / self.span_s if self.span_s > 0 else None

    @property
    def rps(self) -> float | None:
        return self._per_s(self.requests - self.errors)

    @property
    def output_tps(self) -> float | None:
        return self._per_s(self.output_tokens)

    @property
    def total_tps(self) -> float | None:
        return self._per_s(self.output_tokens + self.prompt_tokens)

    @property
    def goodput_rps(self) -> float | None:
        return self._per_s(self.good)

    @property
    def goodput_output_tps(self) -> float | None:
        return self._per_s(self.good_output_tokens)

    @property
    def attainment(self) -> float | None:
        return self.good / self.requests if self.requests else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def holds_sla(self) -> bool:
        return self.requests > 0 and not self.breaches

    def figures(self) -> dict[str, float | None]:
        itl = self.pct.get("itl_p95")
        return {
            "ttft_p95_ms": self.pct.get("ttft_p95"),
            "itl_p95_ms": itl,
            "e2e_p95_ms": self.pct.get("e2e_p95"),
            "tokens_per_s": 1000.0 / itl if itl else None,
            "error_rate": 100.0 * self.error_rate if self.error_rate is not None else None,
        }


def level_stats(*, run: LoadTest) -> list[LevelStats]:
    """Every level's figures from the measured (not warm-up) requests, in one query grouped by level."""
    ok = Q(ok=True)
    good = sla_request_filter(run.sla)
    aggregates: dict[str, Any] = {
        "n": Count("id"),
        "errors": Count("id", filter=~ok),
        "good": Count("id", filter=good),
        "first": Min("started_s"),
        "last": Max(F("started_s") + F("e2e_ms") / 1000.0),
        "out": Sum(Cast("output_tokens", FloatField()), filter=ok),
        "inp": Sum(Cast("prompt_tokens", FloatField()), filter=ok),
        "good_out": Sum(Cast("output_tokens", FloatField()), filter=good),
        "n_declined": Count("id", filter=Q(declined=True)),
    }
    generated = ok & Q(declined=False)
    for metric in METRICS:
        for q, label in QUANTILES:
            aggregates[f"{metric}_{label}"] = Percentile(f"{metric}_ms", q, filter=generated)
    for q, label in RETRIEVAL_QUANTILES:
        aggregates[f"retrieval_{label}"] = Percentile("retrieval_ms", q, filter=ok)
    rows: Any = (
        LoadTestRequest.objects.filter(run=run, warmup=False).values("level").annotate(**aggregates).order_by("level")
    )
    out = []
    for row in rows:
        stats = LevelStats(
            level=row["level"],
            load=run.levels[row["level"]] if row["level"] < len(run.levels) else None,
            requests=row["n"],
            errors=row["errors"],
            good=row["good"],
            span_s=(row["last"] or 0.0) - (row["first"] or 0.0),
            output_tokens=row["out"] or 0.0,
            prompt_tokens=row["inp"] or 0.0,
            good_output_tokens=row["good_out"] or 0.0,
            pct={f"{m}_{label}": row[f"{m}_{label}"] for m in METRICS for _, label in QUANTILES}
            | {f"retrieval_{label}": row[f"retrieval_{label}"] for _, label in RETRIEVAL_QUANTILES},
            declined=row["n_declined"],
        )
        stats.breaches = judge(stats.figures(), run.sla)
        out.append(stats)
    return out


def knee(levels: list[LevelStats], *, gain: float = 0.10) -> LevelStats | None:
    """The level after which more load buys less than ``gain`` more throughput: past it, latency only grows."""
    ordered = [s for s in levels if s.rps]
    for here, after in itertools.pairwise(ordered):
        if after.rps is not None and here.rps is not None and after.rps < here.rps * (1 + gain):
            return here
    return ordered[-1] if ordered else None


def best_under_sla(levels: list[LevelStats]) -> LevelStats | None:
    """The level with the most goodput among those that held the SLA."""
    held = [s for s in levels if s.holds_sla and s.goodput_output_tps]
    return max(held, key=lambda s: s.goodput_output_tps or 0.0, default=None)


def latest_run_with_results(*, deployment: Deployment) -> LoadTest | None:
    return (
        LoadTest.objects.filter(deployment=deployment, requests__isnull=False)
        .exclude(status__in=("queued", "running"))
        .order_by("-queued_at")
        .distinct()
        .first()
    )


def level_for(run: LoadTest, index: int) -> Level:
    """The engine's level for the run's ``index``-th load."""
    load = run.levels[index]
    profile = run.profile
    if profile == "sweep":
        profile = "concurrent" if run.sweep_over == "concurrency" else "poisson"
    return Level(
        profile=profile,
        concurrency=int(load) if profile in ("concurrent", "synchronous") else 1,
        rate=load if profile in ("constant", "poisson") else 0.0,
        duration_s=run.duration_s,
        max_requests=run.max_requests,
        warmup_s=run.warmup_s,
        seed=run.seed + index,
    )


def run_distributions(*, run: LoadTest, limit: int = 20_000) -> tuple[list[float], list[float]]:
    """Per-request time to first token and mean inter-token gap of the measured successful requests (for histograms)."""
    rows = LoadTestRequest.objects.filter(run=run, warmup=False, ok=True, declined=False).values_list(
        "ttft_ms", "itl_ms"
    )[:limit]
    ttft, itl = [], []
    for first, gap in rows:
        if first is not None:
            ttft.append(round(first, 2))
        if gap is not None:
            itl.append(round(gap, 2))
    return ttft, itl


def run_server_summary(*, run: LoadTest) -> dict[str, Any] | None:
    """What the server's own /metrics said during the run: queue, KV-cache use, preemptions, prefix-cache hits."""
    if run.started_at is None:
        return None
    end = run.finished_at or timezone.now()
    samples = ServerSample.objects.filter(
        deployment_id=run.deployment_id, ok=True, scraped_at__gte=run.started_at, scraped_at__lte=end
    )
    row = samples.aggregate(
        samples=Count("id"),
        waiting_max=Max("waiting"),
        running_max=Max("running"),
        kv_max=Max("kv_cache_usage"),
        preemptions=Sum("preemptions"),
        ttft_p95_max=Max("ttft_p95_ms"),
        itl_p95_max=Max("itl_p95_ms"),
    )
    if not row["samples"]:
        return None
    first = samples.order_by("scraped_at").values("prefix_hits_total", "prefix_queries_total").first()
    last = samples.order_by("-scraped_at").values("prefix_hits_total", "prefix_queries_total").first()
    hit_rate = None
    if first and last and last["prefix_queries_total"] is not None and first["prefix_queries_total"] is not None:
        queries = last["prefix_queries_total"] - first["prefix_queries_total"]
        hits = (last["prefix_hits_total"] or 0.0) - (first["prefix_hits_total"] or 0.0)
        hit_rate = hits / queries if queries > 0 else None
    row["prefix_hit_rate"] = hit_rate
    return row
