import uuid

from django.db import migrations, models


def fill_uuids(apps, schema_editor):
    Requirement = apps.get_model("engagements", "Requirement")
    for requirement in Requirement.objects.filter(uuid__isnull=True).only("pk"):
        requirement.uuid = uuid.uuid4()
        requirement.save(update_fields=["uuid"])


class Migration(migrations.Migration):
    # Three steps because existing rows each need their own value before the column can be unique.

    dependencies = [
        ("engagements", "0002_lifecycle"),
    ]

    operations = [
        migrations.AddField(model_name="requirement", name="uuid", field=models.UUIDField(null=True, editable=False)),
        migrations.RunPython(fill_uuids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="requirement",
            name="uuid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
