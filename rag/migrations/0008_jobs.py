"""Ingestion batches and eval runs become kinds of ``jobs.models.Job``: renamed and added fields, existing rows kept."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

STATUS_CHOICES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("succeeded", "Succeeded"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]


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


def _job_fields(model_name: str) -> list[Any]:
    return [
        migrations.AddField(model_name, "cancel_requested", models.BooleanField(default=False)),
        migrations.AddField(
            model_name,
            "current_step",
            models.CharField(blank=True, help_text="What the job is working on now.", max_length=300),
        ),
        migrations.AddField(
            model_name,
            "engagement",
            models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="engagements.engagement",
            ),
        ),
        migrations.AlterField(
            model_name, "queued_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)
        ),
        migrations.AlterField(
            model_name,
            "status",
            models.CharField(choices=STATUS_CHOICES, db_index=True, default="queued", max_length=20),
        ),
        migrations.AlterField(
            model_name,
            "started_by",
            models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0005_roi"),
        ("rag", "0007_answerability"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("ingestionbatch", "created_by", "started_by"),
        migrations.RenameField("ingestionbatch", "created_at", "queued_at"),
        migrations.RenameField("evalrun", "created_by", "started_by"),
        migrations.RenameField("evalrun", "created_at", "queued_at"),
        migrations.AlterModelOptions(
            name="evalrun",
            options={"ordering": ["-queued_at"], "verbose_name": "eval run"},
        ),
        migrations.AlterModelOptions(
            name="ingestionbatch",
            options={
                "ordering": ["-queued_at"],
                "verbose_name": "ingestion batch",
                "verbose_name_plural": "ingestion batches",
            },
        ),
        *_job_fields("ingestionbatch"),
        *_job_fields("evalrun"),
        migrations.RunPython(forwards, backwards),
    ]
