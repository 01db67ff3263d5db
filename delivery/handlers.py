"""Delivery's consumers of payments' events (listed in marketplace/handlers.py).

All inline: they run inside ``record()``, in the transaction of the payment, refund or dispute, so that a paid
order has its entitlements and a fully refunded or disputed one has none, whatever else happens.
"""

from __future__ import annotations

from catalog.events import PatternVersionPublished
from delivery import services
from payments.events import OrderDisputed, OrderPaid, OrderRefunded
from payments.models import Order


def entitlements_grant(event: OrderPaid) -> None:
    """A paid order's lines become entitlements (their personal copies are prepared after commit)."""
    order = Order.objects.get(pk=event.order_id)
    services.entitlements_grant_for_order(order=order, actor_id=event.actor_id)


def entitlements_revoke_on_refund(event: OrderRefunded) -> None:
    """A full refund ends the downloads; a partial one keeps them."""
    if event.full:
        services.entitlements_revoke_for_order(order_id=event.order_id, reason="refunded", actor_id=event.actor_id)


def entitlements_follow_dispute(event: OrderDisputed) -> None:
    """An opened dispute suspends the downloads; a won one gives them back; a lost one leaves them revoked."""
    if event.status == "opened":
        services.entitlements_revoke_for_order(order_id=event.order_id, reason="disputed", actor_id=event.actor_id)
    elif event.status == "won":
        services.entitlements_restore_for_order(order_id=event.order_id, reason="disputed", actor_id=event.actor_id)


def version_offer_to_buyers(event: PatternVersionPublished) -> None:
    """(outbox) A new version reaches every earlier buyer as their own marked copy, made on the delivery queue."""
    services.entitlements_offer_version(pattern_id=event.pattern_id, version=event.version)
