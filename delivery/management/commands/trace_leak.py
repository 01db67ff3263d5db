"""manage.py trace_leak FILE: who was this file delivered to?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from delivery.leaks import leak_trace_record


class Command(BaseCommand):
    help = "Trace a suspected leaked file back to the order, buyer and date it was delivered for."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        trace = leak_trace_record(data=path.read_bytes(), file_name=path.name)
        if trace.entitlement is None:
            self.stdout.write(f"No buyer found in {path.name} (format: {trace.file_format or 'unknown'}).")
            for item in trace.result.get("evidence", []):
                self.stdout.write(f"  {item}")
            raise CommandError("not traced")
        r = trace.result
        self.stdout.write(
            f"Order #{r['order_id']} · buyer {r['buyer']} <{r['buyer_email']}> · paid {r['paid_at']} · "
            f"pattern “{r['pattern']}” · confidence {trace.confidence:.6f} ({r['method']})"
        )
