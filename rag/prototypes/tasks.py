from __future__ import annotations

from celery import shared_task

from jobs.services import execute
from rag.models import EvalRun
from rag.prototypes import evals


@shared_task(name="rag.eval_run", acks_late=True, max_retries=2, time_limit=3600, soft_time_limit=3540)
def eval_run_task(run_id: int) -> None:
    execute(EvalRun, run_id, evals.eval_run_work)
