"""``manage.py demand_rollup --days 365``: rebuild the demand rollups of past days (after a deploy, or after
changing how queries are normalised); the beat task only rebuilds today and yesterday."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from analytics.demand.rollup import demand_rollup


class Command(BaseCommand):
    help = "Rebuild the demand rollups of the last N days from the raw search and click events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=2, help="How many days back, today included (default 2)")

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        if days < 1:
            self.stderr.write("--days must be at least 1")
            return
        rows = demand_rollup(days=days)
        self.stdout.write(f"rebuilt {days} days of demand rollups ({rows} rows)")
