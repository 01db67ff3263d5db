"""Domain events analytics produces (consumed above it: notifications)."""

from __future__ import annotations

import dataclasses
from typing import Any

from marketplace.events import DomainEvent


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemandDigestReady(DomainEvent):
    """A creator's weekly demand digest (actor: the system): the gaps of the last ``period_days`` days in the
    categories they sell in, each ``{query, searches, searchers, results, category}``. Recorded for every creator
    with gaps; whether anyone is told is the consumer's business (notifications: only those who opted in)."""

    type = "demand.digest_ready"
    creator_id: int
    week: str
    period_days: int
    gaps: list[dict[str, Any]]
