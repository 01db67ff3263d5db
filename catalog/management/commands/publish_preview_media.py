"""Give every published pattern's previews and viewer meshes their public names (once, after upgrading).

Patterns published before previews moved under ``published/`` keep working without it (their files are sent
by the checked views); this moves them so the web server or S3 serves them without Python. Idempotent.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog import services
from catalog.models import Pattern


class Command(BaseCommand):
    help = "Move published patterns' previews and viewer meshes to public random names (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        moved = 0
        pattern_ids = Pattern.objects.filter(status=Pattern.Status.PUBLISHED).values_list("pk", flat=True)
        for pattern_id in pattern_ids.iterator():
            moved += services.pattern_media_publish(pattern_id=pattern_id)
        self.stdout.write(f"Moved {moved} files to public names.")
