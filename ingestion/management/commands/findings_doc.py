"""Write docs/findings.md from the finding-code table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from ingestion.findings_doc import render


class Command(BaseCommand):
    help = "Regenerate docs/findings.md from ingestion/validators/codes.py."

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(settings.BASE_DIR) / "docs" / "findings.md"
        target.write_text(render())
        self.stdout.write(f"wrote {target}")
