"""Analytics' consumers of domain events (outbox handlers, listed in marketplace/handlers.py).

They run after commit, once per event (the outbox's receipt commits with the rows written here), so a purchase, a
download or a search request is counted once however often the outbox drains. The rows are those the producers
wrote themselves before issue 11, with the time of the event.
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth import get_user_model

from analytics.models import Event
from analytics.services import events_store, purchase_attribution
from catalog.events import SearchRequested
from delivery.events import DownloadServed
from payments.events import OrderPaid
from payments.selectors import order_sale_facts


def purchases_record(event: OrderPaid) -> None:
    """One ``purchase`` row per line the order delivered, with what insights show: the creator's ``net`` (the
    price less Tessera's fee), whether the buyer is ``returning`` to this creator, the card's ``country``, and what
    led to it (``source``, ``query``, ``utm_*``, ``previews``: read once here, not at every rollup)."""
    facts = order_sale_facts(order_id=event.order_id)
    led_by = purchase_attribution(
        buyer_id=event.buyer_id, pattern_ids=[cast(int, item["pattern_id"]) for item in event.items], at=event.at
    )
    rows = []
    for item in event.items:
        amount = cast(int, item["price"])
        creator_id = cast(int, item["creator_id"])
        rows.append(
            Event(
                kind=Event.Kind.PURCHASE,
                user_id=event.buyer_id,
                pattern_id=cast(int, item["pattern_id"]),
                metadata={
                    "order_id": event.order_id,
                    "amount": amount,
                    "currency": event.currency,
                    "net": amount - int(facts["fees"].get(item["item_id"], 0)),
                    "creator_id": creator_id,
                    "returning": creator_id in facts["returning_creators"],
                    "country": facts["country"],
                    # What led to it (analytics.services.purchase_attribution): source, query, utm_*, previews.
                    **led_by[cast(int, item["pattern_id"])],
                },
                created_at=event.at,
            )
        )
    events_store(events=rows)


def download_record(event: DownloadServed) -> None:
    """One ``download`` row per entitlement served (a whole-order zip is one per pattern in it)."""
    events_store(
        events=[
            Event(
                kind=Event.Kind.DOWNLOAD,
                user_id=event.buyer_id,
                pattern_id=event.pattern_id,
                metadata={
                    "pattern_file_id": event.file_ids[0] if event.kind == "file" and event.file_ids else None,
                    "kind": event.kind,
                },
                created_at=event.at,
            )
        ]
    )


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
