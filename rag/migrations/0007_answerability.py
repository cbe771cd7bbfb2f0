"""Prototype versions move to BM25 fusion weights and the answerability signal.

Weights left at the old defaults (1, 1) take the new measured defaults (0.75, 0.25); weights an FDE chose keep their
ratio, which means the same preference under the new fusion. An abstention threshold of 0 (never decline) stays 0;
any other threshold was a cosine similarity, which means nothing on the new signal's scale, so it becomes the new
default until the prototype is calibrated from an eval run.
"""

import django.core.validators
from django.db import migrations, models

NEW_THRESHOLD = 0.085


def forwards(apps, schema_editor):
    PrototypeVersion = apps.get_model("rag", "PrototypeVersion")
    PrototypeVersion.objects.filter(vector_weight=1.0, keyword_weight=1.0).update(vector_weight=0.75, keyword_weight=0.25)
    PrototypeVersion.objects.exclude(abstain_below=0).update(abstain_below=NEW_THRESHOLD)


class Migration(migrations.Migration):
    dependencies = [
        ("rag", "0006_keyword_bm25"),
    ]

    operations = [
        migrations.AlterField(
            model_name="prototypeversion",
            name="abstain_below",
            field=models.FloatField(
                default=0.085,
                help_text="Below this answerability (how far the best passage stands out from the rest) the prototype "
                "declines to answer; 0 never declines. Calibrate it from an eval run with unanswerable cases.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
                verbose_name="abstention threshold",
            ),
        ),
        migrations.AlterField(
            model_name="prototypeversion",
            name="keyword_weight",
            field=models.FloatField(
                default=0.25,
                help_text="Share of the fused score from BM25 keyword ranking.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(10.0),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="prototypeversion",
            name="vector_weight",
            field=models.FloatField(
                default=0.75,
                help_text="Share of the fused score from meaning (vector search); the two weights are scaled to sum to 1.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(10.0),
                ],
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
