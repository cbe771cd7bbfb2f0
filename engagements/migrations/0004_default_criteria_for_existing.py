from django.db import migrations

from engagements.gate_templates import DEFAULT_CRITERIA


def add_defaults(apps, schema_editor):
    """Engagements created before gates existed get the default criteria, as new ones do."""
    Engagement = apps.get_model("engagements", "Engagement")
    GateCriterion = apps.get_model("engagements", "GateCriterion")
    for engagement in Engagement.objects.filter(criteria__isnull=True):
        GateCriterion.objects.bulk_create(
            GateCriterion(engagement=engagement, phase=phase, position=position, **spec)
            for phase, specs in DEFAULT_CRITERIA.items()
            for position, spec in enumerate(specs)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0003_requirement_uuid"),
    ]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
