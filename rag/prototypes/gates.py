"""Gate metric providers: what the prototype's evals prove, for the engagement's phase gates."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from engagements.metrics import MetricResult, register
from rag.evaluation.judge_check import JUDGED
from rag.models import EvalCase, EvalRun
from rag.prototypes.scoring import METRICS_BY_KEY


@register(
    "rag.eval_metric",
    label="Latest eval metric of a prototype",
    unit="score",
    description="The metric of the prototype's most recent finished eval run (on the given dataset, if any).",
    params_help='{"prototype": "<uuid>", "metric": "faithfulness", "dataset": "<uuid, optional>"}',
)
def latest_eval_metric(engagement: Any, params: dict[str, Any]) -> MetricResult:
    key = params.get("metric", "f1")
    metric = METRICS_BY_KEY.get(key)
    if metric is None:
        return MetricResult(value=None, detail=f"Unknown metric {key!r}; use one of {', '.join(METRICS_BY_KEY)}.")
    runs = EvalRun.objects.filter(
        status=EvalRun.Status.SUCCEEDED, dataset__knowledge_base__engagement=engagement
    ).select_related("version__prototype", "dataset")
    if params.get("prototype"):
        runs = runs.filter(version__prototype__uuid=params["prototype"])
    if params.get("dataset"):
        runs = runs.filter(dataset__uuid=params["dataset"])
    run = runs.order_by("-finished_at").first()
    if run is None or run.metrics.get(key) is None:
        return MetricResult(value=None, detail="No finished eval run reports this metric yet.")
    value = float(run.metrics[key])
    if run.use_judge and not run.metrics.get(f"{key}_reliable", key not in JUDGED):
        # A judge that could not tell planted errors from references proves nothing, whatever it scored.
        reason = run.metrics.get(f"{key}_unreliable_reason") or f"{metric.label} was scored by an unchecked judge."
        return MetricResult(
            value=None,
            detail=f"{reason} The run scored {value:.3f}, which does not count; run it again with another judge.",
            source_url=reverse("rag:eval-run", args=[run.uuid]),
        )
    return MetricResult(
        value=value,
        detail=f"{metric.label} {value:.3f} · {run.version} on {run.dataset} ({run.metrics.get('cases', 0)} cases)",
        source_url=reverse("rag:eval-run", args=[run.uuid]),
    )


@register(
    "rag.eval_coverage",
    label="Eval coverage of requirements",
    unit="%",
    description="Share of the engagement's requirements that at least one ready eval case is linked to.",
)
def eval_coverage(engagement: Any, params: dict[str, Any]) -> MetricResult:
    requirements = engagement.requirements.all()
    total = requirements.count()
    if total == 0:
        return MetricResult(value=None, detail="The engagement has no requirements yet.")
    covered = (
        requirements.filter(
            eval_cases__status=EvalCase.Status.READY, eval_cases__dataset__knowledge_base__engagement=engagement
        )
        .distinct()
        .count()
    )
    return MetricResult(value=100.0 * covered / total, detail=f"{covered} of {total} requirements have eval cases")
