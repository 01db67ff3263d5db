"""Event classes and a registry used only by the kernel's own tests (registered under the ``test.`` prefix)."""

from __future__ import annotations

import dataclasses

from django.core.cache import cache

from marketplace.events import DomainEvent, record
from marketplace.events.registry import Registry


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pinged(DomainEvent):
    type = "test.pinged"
    subject = ("pattern", "pattern_id")
    pattern_id: int
    note: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ponged(DomainEvent):
    """What the outbox handler writes: a row in the same database, so "exactly once" can be counted."""

    type = "test.ponged"
    ping_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Refused(DomainEvent):
    type = "test.refused"


def pong(event: Pinged) -> None:
    record(Ponged(ping_id=str(event.event_id)))
    # Fail (after writing) while the cache says so: the write must roll back with the failure.
    failures_left = cache.get("test:pong-failures", 0)
    if failures_left:
        cache.set("test:pong-failures", failures_left - 1)
        raise RuntimeError("receiver down")


def refuse(event: Refused) -> None:
    raise ValueError("this change is not allowed")


registry = Registry()
registry.outbox("test.pinged", pong)
registry.inline("test.refused", refuse)
