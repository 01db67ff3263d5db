"""``manage.py provenance_backfill``: append the statement of every version uploaded before the log existed.

Idempotent (one leaf per version; versions already in the log are skipped). A backfilled statement carries the
version's recorded upload time, which only the operator vouches for: the independent evidence of when it existed
is the first time-stamped checkpoint that includes it, which is why this should run once, right after deploying.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from catalog import selectors as catalog_selectors
from provenance import services
from provenance.models import LogLeaf


class Command(BaseCommand):
    help = "Append the authorship statements of pattern versions uploaded before the log existed."

    def handle(self, *args: Any, **options: Any) -> None:
        before = LogLeaf.objects.count()
        after_id = 0
        while page := catalog_selectors.pattern_versions_submitted(after_id=after_id):
            for version in page:
                services.leaf_append(
                    pattern_id=version["pattern_id"], version=version["number"], at=version["created_at"]
                )
            after_id = page[-1]["id"]
        appended = LogLeaf.objects.count() - before
        checkpoint = services.checkpoint_publish()
        self.stdout.write(
            f"appended {appended} statement(s); "
            + (f"checkpoint of {checkpoint.tree_size} leaves signed" if checkpoint else "no new checkpoint")
        )
