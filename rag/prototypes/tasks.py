from __future__ import annotations

from celery import shared_task

from rag.prototypes import evals


@shared_task(name="rag.eval_run", acks_late=True, max_retries=2, time_limit=3600, soft_time_limit=3540)
def eval_run_task(*, run_id: int) -> None:
    if not evals.eval_run_claim(run_id=run_id):
        return  # already done, or another worker is on it
    try:
        evals.eval_run_execute(run_id=run_id)
    except Exception as exc:
        evals.eval_run_finish(run_id=run_id, error=f"The run stopped: {exc}. Retry to score the remaining cases.")
        raise


@shared_task(name="rag.reclaim_stuck_eval_runs", max_retries=0, time_limit=60)
def eval_runs_sweep() -> None:
    evals.eval_runs_reclaim_stuck()
