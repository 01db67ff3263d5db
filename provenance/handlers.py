"""Outbox handlers (listed in marketplace/handlers.py): every upload and every new version appends its statement
to the authorship log, once (a retried receipt finds the leaf already there)."""

from __future__ import annotations

from catalog.events import PatternSubmitted, PatternVersionSubmitted
from provenance import services


def statement_append_on_submit(event: PatternSubmitted) -> None:
    # The original upload is version 1.
    services.leaf_append(pattern_id=event.pattern_id, version=1, at=event.at)


def statement_append_on_version(event: PatternVersionSubmitted) -> None:
    services.leaf_append(pattern_id=event.pattern_id, version=event.version, at=event.at)
