"""Eval runs: the job row, the per-case work the Celery task does, baselines and regression flags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.ratelimit import Limit, enforce
from deployments.models import Deployment
from rag.evaluation import metrics as m
from rag.models import EvalCase, EvalDataset, EvalResult, EvalRun, PrototypeVersion
from rag.prototypes.judging import eval_run_check_judge, judge_grade, judge_reliability
from rag.prototypes.pipeline import Outcome, run_to_end
from rag.prototypes.prompting import format_context
from rag.prototypes.scoring import METRICS_BY_KEY, aggregate

STALE_AFTER = timedelta(minutes=3)


@transaction.atomic
def eval_run_create(
    *,
    version: PrototypeVersion,
    dataset: EvalDataset,
    user: Any = None,
    k: int = 5,
    use_judge: bool = True,
    judge_deployment: Deployment | None = None,
    enqueue: bool = True,
) -> EvalRun:
    """Queue a run of ``version`` over the dataset's ready cases; the worker picks it up once this commits.

    ``enqueue=False`` leaves the queued row for the caller to run in its own process (the CI command does).
    """
    from rag.prototypes.tasks import eval_run_task

    if dataset.knowledge_base_id != version.prototype.knowledge_base_id:
        raise ValidationError("The dataset and the prototype must use the same knowledge base.")
    total = dataset.cases.filter(status=EvalCase.Status.READY).count()
    if total == 0:
        raise ValidationError("The dataset has no ready cases: add or approve some first.")
    if user is not None:
        enforce(Limit("eval-run-user", user.pk, "Your evaluation runs"))
    run = EvalRun(
        dataset=dataset,
        version=version,
        created_by=user,
        k=k,
        use_judge=use_judge,
        judge_deployment=judge_deployment if use_judge else None,
        total=total,
    )
    run.full_clean()
    run.save()
    if enqueue:
        eval_run_task.delay_on_commit(run_id=run.pk)
    return run


def eval_run_claim(*, run_id: int) -> bool:
    """Take a queued run, or one whose worker stopped beating its heart (it crashed mid-run)."""
    stale = timezone.now() - STALE_AFTER
    claimable = Q(status=EvalRun.Status.QUEUED) | Q(status=EvalRun.Status.RUNNING, heartbeat_at__lt=stale)
    now = timezone.now()
    return (
        EvalRun.objects.filter(claimable, pk=run_id).update(
            status=EvalRun.Status.RUNNING, started_at=now, heartbeat_at=now, last_error=""
        )
        == 1
    )


def eval_run_execute(*, run_id: int) -> EvalRun:
    """Score every ready case that has no result yet (so a re-delivered task resumes), then aggregate."""
    run = EvalRun.objects.select_related("version__prototype__knowledge_base", "version__deployment").get(pk=run_id)
    EvalRun.objects.filter(pk=run.pk).update(attempts=run.attempts + 1)
    done = set(run.results.values_list("case_id", flat=True))
    cases = run.dataset.cases.filter(status=EvalCase.Status.READY).exclude(pk__in=done).order_by("pk")
    if run.use_judge and not run.judge_check:
        eval_run_check_judge(run=run)  # before any score, so a judge that cannot separate is known as such
    for case in cases:
        eval_case_score(run=run, case=case)
        EvalRun.objects.filter(pk=run.pk).update(progress=run.results.count(), heartbeat_at=timezone.now())
    return eval_run_finish(run_id=run.pk)


def eval_case_score(*, run: EvalRun, case: EvalCase) -> EvalResult:
    outcome = run_to_end(version=run.version, question=case.question, caller="rag.eval")
    retrieved = m.unique_in_order(p.external_id for p in outcome.passages)
    relevant = set(case.relevant_documents)
    values: dict[str, Any] = {
        "answer": outcome.text,
        "abstained": outcome.abstained,
        "confidence": outcome.confidence,
        "retrieved_documents": retrieved,
        "retrieval_ms": outcome.retrieval_ms,
        "ttft_ms": outcome.ttft_ms,
        "total_ms": outcome.total_ms,
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "error": outcome.error_detail or outcome.error,  # eval runs are provider staff's: the full reason
        "abstention_correct": outcome.abstained == case.unanswerable,
        "trace": {
            "prompt": outcome.messages,
            "passages": [p.as_citation(n) | {"text": p.text} for n, p in enumerate(outcome.passages, start=1)],
        },
    }
    if relevant:
        values |= {
            "hit": m.hit_at_k(retrieved, relevant, run.k),
            "recall": m.recall_at_k(retrieved, relevant, run.k),
            "mrr": m.reciprocal_rank(retrieved, relevant),
            "ndcg": m.ndcg_at_k(retrieved, relevant, run.k),
        }
    if case.reference_answer and not outcome.error:
        values["exact_match"] = m.exact_match(outcome.text, case.reference_answer)
        values["f1"] = m.token_f1(outcome.text, case.reference_answer)
    if run.use_judge and not outcome.abstained and not outcome.error and outcome.text:
        values |= _judge(run=run, case=case, outcome=outcome)
    result, _ = EvalResult.objects.update_or_create(run=run, case=case, defaults=values)
    return result


def _judge(*, run: EvalRun, case: EvalCase, outcome: Outcome) -> dict[str, Any]:
    verdict = judge_grade(
        run=run, question=case.question, answer=outcome.text, context=format_context(outcome.passages)
    )
    judgement = verdict.judgement
    if judgement is None:
        return {"judge_parsed": False, "judge_rationale": verdict.reply[:2000]}
    return {
        "judge_parsed": True,
        "faithfulness": judgement.faithfulness,
        "relevance": judgement.relevance,
        "judge_rationale": judgement.rationale,
    }


def eval_run_finish(*, run_id: int, error: str = "") -> EvalRun:
    run = EvalRun.objects.get(pk=run_id)
    results = list(run.results.select_related("case"))
    run.metrics = aggregate(results) | judge_reliability(run=run)
    run.judge_unparsed = run.metrics["judge_unparsed"]
    run.progress = len(results)
    run.status = EvalRun.Status.FAILED if error else EvalRun.Status.DONE
    run.last_error = error[:2000]
    run.finished_at = timezone.now()
    run.save()
    return run


@transaction.atomic
def eval_run_retry(*, run: EvalRun) -> EvalRun:
    """Queue a failed run again; cases already scored are kept."""
    from rag.prototypes.tasks import eval_run_task

    if run.status != EvalRun.Status.FAILED:
        raise ValidationError("Only a failed run can be retried.")
    EvalRun.objects.filter(pk=run.pk).update(status=EvalRun.Status.QUEUED, last_error="")
    eval_run_task.delay_on_commit(run_id=run.pk)
    run.refresh_from_db()
    return run


@transaction.atomic
def eval_run_mark_baseline(*, run: EvalRun) -> EvalRun:
    if run.status != EvalRun.Status.DONE:
        raise ValidationError("Only a finished run can be the baseline.")
    EvalRun.objects.filter(dataset=run.dataset, is_baseline=True).exclude(pk=run.pk).update(is_baseline=False)
    EvalRun.objects.filter(pk=run.pk).update(is_baseline=True)
    run.refresh_from_db()
    return run


def eval_run_regressions(*, run: EvalRun, baseline: EvalRun | None) -> list[dict[str, Any]]:
    """The quality metrics on which ``run`` falls below ``baseline`` by more than the dataset's tolerance."""
    if baseline is None or baseline.pk == run.pk or run.status != EvalRun.Status.DONE:
        return []
    tolerance = run.dataset.regression_tolerance
    flags = []
    for key, metric in METRICS_BY_KEY.items():
        if not metric.higher_is_better:
            continue
        now, before = run.metrics.get(key), baseline.metrics.get(key)
        if now is not None and before is not None and now < before - tolerance:
            flags.append({"key": key, "label": metric.label, "value": now, "baseline": before, "drop": before - now})
    return flags


def eval_runs_reclaim_stuck() -> list[int]:
    """Queue again the runs whose worker died (no heartbeat for a while), for the periodic sweeper."""
    from rag.prototypes.tasks import eval_run_task

    stale = timezone.now() - STALE_AFTER
    ids = list(
        EvalRun.objects.filter(status=EvalRun.Status.RUNNING, heartbeat_at__lt=stale).values_list("pk", flat=True)
    )
    for run_id in ids:
        eval_run_task.delay(run_id=run_id)
    return ids
