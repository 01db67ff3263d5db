"""Make the resized WebP/PNG/JPEG renditions of every stored preview that lacks some (once, after upgrading).

New previews get them at ingestion; this backfills previews made before renditions existed. Idempotent: a
second run makes nothing. Renditions of published patterns are public files at once, others stay private.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Count

from catalog.models import Preview
from ingestion import services
from ingestion.renditions import rendition_widths


class Command(BaseCommand):
    help = "Make the missing srcset renditions of stored previews (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        made = 0
        previews = Preview.objects.annotate(count=Count("renditions")).values_list("pk", "width", "count")
        for preview_id, width, count in previews.iterator():
            if count >= len(rendition_widths(max(width, 1))) + 1:  # the WebP widths and one fallback
                continue
            made += services.preview_renditions_ensure(preview_id=preview_id)
        self.stdout.write(f"Made {made} preview renditions.")
