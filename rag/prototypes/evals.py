"""Eval runs: the job row, the per-case work the Celery task does, baselines and regression flags."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from config.ratelimit import Limit, enforce
from deployments.models import Deployment
from jobs import services as jobs
from rag.evaluation import metrics as m
from rag.models import EvalCase, EvalDataset, EvalResult, EvalRun, PrototypeVersion
from rag.prototypes.judging import eval_run_check_judge, judge_grade, judge_reliability
from rag.prototypes.pipeline import Outcome, run_to_end
from rag.prototypes.prompting import format_context
from rag.prototypes.scoring import METRICS_BY_KEY, aggregate


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
        started_by=user,
        engagement_id=dataset.knowledge_base.engagement_id,
        k=k,
        use_judge=use_judge,
        judge_deployment=judge_deployment if use_judge else None,
        total=total,
    )
    run.full_clean()
    run.save()
    if enqueue:
        jobs.enqueue(run)
    return run


def eval_run_work(run: EvalRun) -> None:
    """Score every ready case that has no result yet (so a redelivered task resumes), then aggregate.

    Between cases the run beats its heart; when a cancel was requested it stops there, keeping the scored cases.
    """
    run = jobs.held(
        run, EvalRun.objects.select_related("version__prototype__knowledge_base", "version__deployment").get(pk=run.pk)
    )
    done = set(run.results.values_list("case_id", flat=True))
    cases = run.dataset.cases.filter(status=EvalCase.Status.READY).exclude(pk__in=done).order_by("pk")
    if run.use_judge and not run.judge_check:
        eval_run_check_judge(run=run)  # before any score, so a judge that cannot separate is known as such
    for case in cases:
        if not jobs.heartbeat(run, progress=len(done), step=f"Scoring {case.external_id}"):
            break
        eval_case_score(run=run, case=case)
        done.add(case.pk)
    jobs.heartbeat(run, progress=len(done), step="Aggregating the metrics")
    # This worker's own row, not one read again: should another worker have taken the run over, it records the end.
    jobs.finish(eval_run_aggregate(run=run))


def eval_run_execute(*, run_id: int) -> EvalRun | None:
    """Claim and run a queued run in this process (the CI command, benchmarks)."""
    return jobs.execute(EvalRun, run_id, eval_run_work)


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


def eval_run_aggregate(*, run: EvalRun) -> EvalRun:
    """Compute the run's metrics from the results it has (all of them, or those scored before a cancel)."""
    results = list(run.results.select_related("case"))
    run.metrics = aggregate(results) | judge_reliability(run=run)
    run.judge_unparsed = run.metrics["judge_unparsed"]
    run.progress = len(results)
    run.save(update_fields=["metrics", "judge_unparsed", "progress"])
    return run


def eval_run_finish(*, run_id: int) -> EvalRun:
    """Aggregate the run's results and record its end (cancelled instead when a cancel was requested)."""
    run = eval_run_aggregate(run=EvalRun.objects.get(pk=run_id))
    jobs.finish(run)
    run.refresh_from_db()
    return run


@transaction.atomic
def eval_run_mark_baseline(*, run: EvalRun) -> EvalRun:
    if run.status != EvalRun.Status.SUCCEEDED:
        raise ValidationError("Only a finished run can be the baseline.")
    EvalRun.objects.filter(dataset=run.dataset, is_baseline=True).exclude(pk=run.pk).update(is_baseline=False)
    EvalRun.objects.filter(pk=run.pk).update(is_baseline=True)
    run.refresh_from_db()
    return run


def eval_run_regressions(*, run: EvalRun, baseline: EvalRun | None) -> list[dict[str, Any]]:
    """The quality metrics on which ``run`` falls below ``baseline`` by more than the dataset's tolerance."""
    if baseline is None or baseline.pk == run.pk or run.status != EvalRun.Status.SUCCEEDED:
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
