"""Seed the hardware catalogue with common GPUs and a CPU server (see deployments/catalogue.py)."""

from django.db import migrations

from deployments.catalogue import catalogue_seed


def seed(apps, schema_editor):
    catalogue_seed(apps.get_model("deployments", "HardwareType"))


class Migration(migrations.Migration):
    dependencies = [("deployments", "0005_fleet_metrics_alerts")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
