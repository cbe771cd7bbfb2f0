from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from deployments.services import deployment_save
from engagements.models import Engagement
from rag.models import EvalRun, IngestionBatch
from rag.prototypes.datasets import eval_case_save, eval_dataset_create
from rag.prototypes.evals import eval_run_create
from rag.services.knowledge_base import knowledge_base_create
from tests.rag.prototype_builders import make_prototype

BEFORE = [("rag", "0007_answerability")]


def _latest() -> list[tuple[str, str]]:
    """Every app's newest migration: the test leaves the schema as the rest of the session expects it."""
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_batches_and_runs_keep_their_data_through_the_move_to_jobs(engagement: Engagement, fde: Any) -> None:
    kb = knowledge_base_create(engagement=engagement, name="Before jobs", actor=fde)
    batch = IngestionBatch.objects.create(knowledge_base=kb, label="Old upload", started_by=fde, total=3, progress=3)
    deployment = deployment_save(name="Unused", base_url="http://127.0.0.1:9/v1", served_model_name="m")
    prototype = make_prototype(kb, deployment)
    dataset = eval_dataset_create(knowledge_base=kb, name="Old set")
    eval_case_save(dataset=dataset, external_id="c1", question="Q?")
    run = eval_run_create(version=prototype.versions.get(), dataset=dataset, user=fde, enqueue=False)
    try:
        old = _migrate(BEFORE)
        old.get_model("rag", "IngestionBatch").objects.filter(pk=batch.pk).update(status="done")
        old.get_model("rag", "EvalRun").objects.filter(pk=run.pk).update(status="done", metrics={"hit": 1.0})
        created = old.get_model("rag", "IngestionBatch").objects.get(pk=batch.pk).created_at
    finally:
        _migrate(_latest())

    batch = IngestionBatch.objects.get(pk=batch.pk)
    assert (batch.status, batch.engagement_id, batch.started_by_id) == ("succeeded", engagement.pk, fde.pk)
    assert batch.queued_at == created and (batch.label, batch.progress, batch.total) == ("Old upload", 3, 3)
    run = EvalRun.objects.get(pk=run.pk)
    assert (run.status, run.engagement_id, run.started_by_id) == ("succeeded", engagement.pk, fde.pk)
    assert run.metrics == {"hit": 1.0} and not run.cancel_requested and run.current_step == ""
