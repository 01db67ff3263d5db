"""What happens to buyers' access to files."""

from __future__ import annotations

import dataclasses

from marketplace.events import DomainEvent

ENTITLEMENT = ("entitlement", "entitlement_id")


@dataclasses.dataclass(frozen=True, kw_only=True)
class EntitlementGranted(DomainEvent):
    type = "entitlement.granted"
    subject = ENTITLEMENT
    entitlement_id: int
    buyer_id: int
    pattern_id: int
    order_id: int | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EntitlementRevoked(DomainEvent):
    type = "entitlement.revoked"
    subject = ENTITLEMENT
    entitlement_id: int
    buyer_id: int
    pattern_id: int
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DownloadServed(DomainEvent):
    """A buyer's download link was followed and a file (or a package of files) sent. ``kind``: "file" (then
    ``file_ids`` names it), "pattern" or "order" (a zip; ``file_ids`` empty)."""

    type = "download.served"
    subject = ENTITLEMENT
    entitlement_id: int
    buyer_id: int
    pattern_id: int
    file_ids: list[int]
    kind: str = "file"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeakTraced(DomainEvent):
    """Staff traced a leaked file (actor: who uploaded it); ``buyer_id`` when the forensic mark named one."""

    type = "leak.traced"
    subject = ("leak", "trace_id")
    trace_id: int
    pattern_id: int | None
    buyer_id: int | None
    outcome: str
