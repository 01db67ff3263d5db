"""Analytics as a consumer of domain events (listed in marketplace/handlers.py; run from the outbox after commit).

Each handler writes the row its event stands for; the outbox commits the row with the handler's receipt, so a
retried drain never writes it twice.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from analytics.models import Event
from catalog.events import SearchRequested


def search_requested(event: SearchRequested) -> None:
    """ "Tell us what you wanted": the query and the person's own words, for the demand insights."""
    user_id = event.actor_id
    if user_id is not None and not get_user_model().objects.filter(pk=user_id).exists():
        user_id = None  # deleted since: no one, as on_delete=SET_NULL would have made it
    Event.objects.create(
        kind=Event.Kind.SEARCH_REQUEST,
        user_id=user_id,
        query=event.query[:255],
        path=event.path[:255],
        metadata={"wanted": event.wanted},
        created_at=event.at,
    )
