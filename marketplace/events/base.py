"""Typed domain events.

One frozen dataclass per thing that happened, named with a dotted ``type`` (``pattern.published``). An event
carries ids, never model instances, plus the actor (a user id, or ``None`` for the system), the time and a uuid
that stays the same wherever the event travels (the outbox receipts, an outgoing webhook's ``webhook-id``).

Event classes live in the app that produces them (``catalog/events.py``, ``payments/events.py`` ...); consumers,
which sit above producers in the layering, import them from there. Every subclass registers its ``type`` here so a
stored record can be turned back into its class (``event_from_record``).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.utils import timezone

EVENT_TYPES: dict[str, type[DomainEvent]] = {}


class UnknownEventType(LookupError):
    """A stored event whose type no class declares (a class renamed without keeping its dotted name)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened. Subclasses set ``type`` and, when the event belongs to one object's history,
    ``subject`` = (kind, name of the id field), e.g. ``("pattern", "pattern_id")``."""

    type: ClassVar[str] = ""
    subject: ClassVar[tuple[str, str] | None] = None

    actor_id: int | None = None
    at: datetime = dataclasses.field(default_factory=timezone.now)
    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if not event_type:
            return
        if event_type in EVENT_TYPES and EVENT_TYPES[event_type].__qualname__ != cls.__qualname__:
            raise TypeError(f"two event classes declare {event_type!r}")
        EVENT_TYPES[event_type] = cls

    def data(self) -> dict[str, Any]:
        """The event's own fields (not actor, time or id), as stored in the record's ``data``."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name not in {"actor_id", "at", "event_id"}
        }

    def subject_ref(self) -> tuple[str, int | None]:
        """(kind, id) of the object whose history this event is part of, or ("", None)."""
        if self.subject is None:
            return "", None
        kind, field_name = self.subject
        return kind, getattr(self, field_name)


def event_class(event_type: str) -> type[DomainEvent]:
    try:
        return EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def event_from_record(record: Any) -> DomainEvent:
    """The typed event a stored ``EventRecord`` holds (fields the class no longer has are dropped)."""
    cls = event_class(record.type)
    names = {field.name for field in dataclasses.fields(cls)}
    data = {key: value for key, value in record.data.items() if key in names}
    return cls(**data, actor_id=record.actor_id, at=record.at, event_id=record.uuid)
