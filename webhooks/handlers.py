"""The outbox handler that turns every domain event into deliveries (listed in marketplace/handlers.py)."""

from __future__ import annotations

from marketplace.events.base import DomainEvent
from webhooks import services


def event_fan_out(event: DomainEvent) -> None:
    """One delivery per active endpoint that subscribed to ``event.type`` and whose owner it concerns."""
    services.delivery_create_for_event(event)
