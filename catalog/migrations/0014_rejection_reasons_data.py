"""Seed the canned rejection reasons moderators pick from (editable in the admin afterwards)."""

from typing import Any

from django.db import migrations

from catalog.reference_data import REJECTION_REASONS, ensure_rejection_reasons


def seed(apps: Any, schema_editor: Any) -> None:
    ensure_rejection_reasons(apps.get_model("catalog", "RejectionReason"))


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("catalog", "RejectionReason").objects.filter(
        label__in=[label for label, _ in REJECTION_REASONS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0013_moderation_console")]
    operations = [migrations.RunPython(seed, unseed)]
