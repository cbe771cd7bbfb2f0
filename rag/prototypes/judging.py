"""The judge of an eval run: which deployment grades, its check against planted errors, and one case's grading."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from deployments.models import Deployment
from rag.evaluation.judge import Verdict, judge_answer
from rag.evaluation.judge_check import JUDGED, CheckCase, Probe, judge_check, metric_reliability
from rag.models import EvalCase, EvalRun
from rag.prototypes import retrieval
from rag.prototypes.prompting import format_context


def judge_of(run: EvalRun) -> Deployment:
    return run.judge_deployment or run.version.deployment


def judge_grade(*, run: EvalRun, question: str, answer: str, context: str, caller: str = "rag.judge") -> Verdict:
    return judge_answer(
        deployment=judge_of(run),
        question=question,
        answer=answer,
        context=context,
        caller=caller,
        engagement=run.dataset.knowledge_base.engagement,
    )


def _check_cases(run: EvalRun) -> list[CheckCase]:
    """Cases with references, each with the passages that hold its reference (searched by question and answer)."""
    cases = run.dataset.cases.filter(status=EvalCase.Status.READY, unanswerable=False).exclude(reference_answer="")
    out = []
    for case in cases.order_by("pk")[:5]:
        try:
            found = retrieval.retrieve(version=run.version, question=f"{case.question} {case.reference_answer}")
        except retrieval.RetrievalError:
            continue
        context = format_context(found.passages[:3])
        if context:
            out.append(CheckCase(case.external_id, case.question, case.reference_answer, context))
    return out


def eval_run_check_judge(*, run: EvalRun) -> dict[str, Any]:
    """Check the run's judge on planted errors made from the dataset's references and keep the outcome on the run."""

    def grade(probe: Probe) -> Verdict:
        # the check takes a dozen calls: keep the run's heart beating so the sweeper does not take it back
        EvalRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
        return judge_grade(
            run=run, question=probe.question, answer=probe.answer, context=probe.context, caller="rag.judge_check"
        )

    check = judge_check(cases=_check_cases(run), grade=grade, judge_name=judge_of(run).name)
    EvalRun.objects.filter(pk=run.pk).update(judge_check=check)
    run.judge_check = check
    return check


def judge_reliability(*, run: EvalRun) -> dict[str, Any]:
    """For the run's metrics: whether each judged metric may count, why not, and the check's separation."""
    if not run.use_judge:
        return {}
    out: dict[str, Any] = {}
    for key in JUDGED:
        reliable, reason = metric_reliability(run.judge_check, key)
        info = (run.judge_check or {}).get("metrics", {}).get(key, {})
        out[f"{key}_reliable"] = reliable
        out[f"{key}_unreliable_reason"] = reason
        out[f"{key}_separation_auroc"] = info.get("auroc")
        out[f"{key}_separation_gap"] = info.get("gap")
    return out
