"""Which event types an account may subscribe to, and what each endpoint is told about an event.

A creator's endpoint hears only about the creator's own patterns, sales and payouts, with public fields: in an
``order.paid`` only their own lines (pattern id, title, licence, price) and never the buyer's e-mail or address.
A staff member's endpoint receives every event type, with the event's data as recorded (ids and fields).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

import catalog.events  # noqa: F401 - registers the event types offered to staff
import delivery.events  # noqa: F401
import payments.events  # noqa: F401
from catalog import selectors as catalog_selectors
from catalog.events import PatternPublished, PatternRejected
from marketplace.events.base import EVENT_TYPES, DomainEvent
from payments import selectors as payments_selectors
from payments.events import OrderPaid, OrderRefunded, PayoutPaid

TEST_EVENT_TYPE = "webhook.test"
CREATOR_EVENT_TYPES = ("order.paid", "order.refunded", "pattern.published", "pattern.rejected", "payout.paid")


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False))


def event_types_offered(*, user: Any) -> list[str]:
    """The event types ``user`` may subscribe an endpoint to."""
    if not _is_staff(user):
        return list(CREATOR_EVENT_TYPES)
    return sorted(
        event_type for event_type, cls in EVENT_TYPES.items() if not cls.__module__.startswith(("tests.", "bench."))
    )


def json_ready(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


def _order_paid(event: OrderPaid, creator_id: int) -> dict[str, Any] | None:
    lines = [item for item in event.items if item.get("creator_id") == creator_id]
    if not lines:
        return None
    titles = catalog_selectors.pattern_titles(pattern_ids=[int(str(line["pattern_id"])) for line in lines])
    return {
        "order_id": event.order_id,
        "currency": event.currency,
        "items": [
            {
                "pattern_id": line["pattern_id"],
                "title": titles.get(int(str(line["pattern_id"])), ""),
                "licence": line.get("licence"),
                "price": line.get("price"),
            }
            for line in lines
        ],
    }


def _order_refunded(event: OrderRefunded, creator_id: int) -> dict[str, Any] | None:
    lines = payments_selectors.order_lines_of_creator(order_id=event.order_id, creator_id=creator_id)
    if event.pattern_ids:
        lines = [line for line in lines if line["pattern_id"] in set(event.pattern_ids)]
    if not lines:
        return None
    return {
        "order_id": event.order_id,
        "currency": event.currency,
        "full": event.full,
        "reason": event.reason,
        "items": [{key: line[key] for key in ("pattern_id", "title", "licence", "price")} for line in lines],
    }


def _pattern_published(event: PatternPublished, creator_id: int) -> dict[str, Any] | None:
    if event.creator_id != creator_id:
        return None
    titles = catalog_selectors.pattern_titles(pattern_ids=[event.pattern_id])
    return {
        "pattern_id": event.pattern_id,
        "title": titles.get(event.pattern_id, ""),
        "reason": event.reason,
        "republished": event.republished,
    }


def _pattern_rejected(event: PatternRejected, creator_id: int) -> dict[str, Any] | None:
    if event.creator_id != creator_id:
        return None
    titles = catalog_selectors.pattern_titles(pattern_ids=[event.pattern_id])
    return {
        "pattern_id": event.pattern_id,
        "title": titles.get(event.pattern_id, ""),
        "reason": event.reason,
        "reason_code": event.reason_code,
    }


def _payout_paid(event: PayoutPaid, creator_id: int) -> dict[str, Any] | None:
    if event.creator_id != creator_id:
        return None
    return {"payout_id": event.payout_id, "amount": event.amount, "currency": event.currency}


CREATOR_DATA: dict[str, Callable[[Any, int], dict[str, Any] | None]] = {
    "order.paid": _order_paid,
    "order.refunded": _order_refunded,
    "pattern.published": _pattern_published,
    "pattern.rejected": _pattern_rejected,
    "payout.paid": _payout_paid,
}


def event_data_for(*, event: DomainEvent, owner: Any) -> dict[str, Any] | None:
    """What the endpoint of ``owner`` is told about ``event``; None when the event is none of their business."""
    if _is_staff(owner):
        return json_ready(event.data())
    build = CREATOR_DATA.get(event.type)
    if build is None:
        return None
    data = build(event, owner.pk)
    return None if data is None else json_ready(data)
