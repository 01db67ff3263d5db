"""The starting taxonomy for the auto-tagger."""

from django.db import migrations

from catalog.reference_data import ensure_taxonomy


def add(apps, schema_editor):
    ensure_taxonomy(apps.get_model("catalog", "TaxonomyTerm"))


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_tagging")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
