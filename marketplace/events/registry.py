"""The handler registry: which functions consume which event types.

The one registry of the project is ``marketplace/handlers.py`` (the composition root, allowed to import every
app); the kernel finds it through ``settings.TESSERA_EVENT_REGISTRY`` so that no app imports its consumers.

- ``inline`` handlers run inside ``record()``, in the transaction of the change: invariants that must hold with
  it (a paid order has its entitlements). Their exception rolls the change back.
- ``outbox`` handlers run after commit, from the outbox on the ``events`` queue, once per (event, handler),
  retried with backoff. ``"*"`` subscribes to every type (outgoing webhooks).

A handler takes the typed event: ``def handler(event: OrderPaid) -> None``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from marketplace.events.base import DomainEvent

ANY_TYPE = "*"


@dataclass(frozen=True)
class Handler:
    name: str
    event_type: str
    fn: Callable[[Any], None]
    inline: bool


class Registry:
    """Event type → handlers, in the order they were listed."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def _add(self, event_type: str, fn: Callable[[Any], None], *, inline: bool, name: str | None) -> None:
        handler_name = name or f"{fn.__module__}.{fn.__qualname__}"
        for existing in self._handlers:
            if existing.name == handler_name and existing.event_type == event_type:
                raise ValueError(f"{handler_name} is already registered for {event_type}")
        self._handlers.append(Handler(name=handler_name, event_type=event_type, fn=fn, inline=inline))

    def inline(self, event_type: str, fn: Callable[[Any], None], *, name: str | None = None) -> None:
        self._add(event_type, fn, inline=True, name=name)

    def outbox(self, event_type: str, fn: Callable[[Any], None], *, name: str | None = None) -> None:
        self._add(event_type, fn, inline=False, name=name)

    def handlers_for(self, event: DomainEvent | str, *, inline: bool) -> list[Handler]:
        event_type = event if isinstance(event, str) else event.type
        seen: set[str] = set()
        found = []
        for handler in self._handlers:
            if handler.inline != inline or handler.event_type not in {event_type, ANY_TYPE}:
                continue
            if handler.name in seen:
                continue
            seen.add(handler.name)
            found.append(handler)
        return found

    def by_name(self, name: str) -> Handler | None:
        for handler in self._handlers:
            if handler.name == name:
                return handler
        return None

    def all(self) -> list[Handler]:
        return list(self._handlers)


@cache
def _load(path: str) -> Registry:
    registry = import_string(path)
    if not isinstance(registry, Registry):
        raise TypeError(f"{path} is not a marketplace.events.registry.Registry")
    return registry


def registry() -> Registry:
    """The project's registry (settings.TESSERA_EVENT_REGISTRY)."""
    return _load(settings.TESSERA_EVENT_REGISTRY)
