"""Domain events: typed facts with their actor, stored in the transaction of their change, and the outbox that
runs their consumers after commit. Producers call ``record(SomethingHappened(...))``; consumers are listed in
``marketplace/handlers.py``."""

from marketplace.events.base import DomainEvent

__all__ = ["DomainEvent", "record"]


def record(event: DomainEvent):  # type: ignore[no-untyped-def]
    """See ``marketplace.events.services.record`` (imported late: this package loads before the app registry)."""
    from marketplace.events.services import record as record_event

    return record_event(event)
