"""Licences and top-level categories every installation needs."""

from django.db import migrations

from catalog.reference_data import ensure_reference_data


def add(apps, schema_editor):
    ensure_reference_data(apps.get_model("catalog", "Licence"), apps.get_model("catalog", "Category"))


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
