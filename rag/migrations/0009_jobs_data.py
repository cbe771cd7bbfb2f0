"""Existing batches and runs in the job model's terms: "done" is "succeeded", and each belongs to its engagement.

Apart from 0008 because PostgreSQL refuses to alter a table in the transaction that updated its rows.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.models import OuterRef, Subquery


def forwards(apps: Any, schema_editor: Any) -> None:
    batch = apps.get_model("rag", "IngestionBatch")
    run = apps.get_model("rag", "EvalRun")
    kb = apps.get_model("rag", "KnowledgeBase")
    for model in (batch, run):
        model.objects.filter(status="done").update(status="succeeded")
    batch.objects.update(engagement=Subquery(kb.objects.filter(pk=OuterRef("knowledge_base")).values("engagement")))
    run.objects.update(
        engagement=Subquery(kb.objects.filter(eval_datasets=OuterRef("dataset")).values("engagement")[:1])
    )


def backwards(apps: Any, schema_editor: Any) -> None:
    for name in ("IngestionBatch", "EvalRun"):
        model = apps.get_model("rag", name)
        model.objects.filter(status="succeeded").update(status="done")
        model.objects.filter(status="cancelled").update(status="failed")


class Migration(migrations.Migration):
    dependencies = [("rag", "0008_jobs")]

    operations = [migrations.RunPython(forwards, backwards)]
