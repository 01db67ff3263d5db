"""Payments' consumers of events (listed in marketplace/handlers.py)."""

from __future__ import annotations

from collections import Counter

from catalog import services as catalog_services
from payments.events import OrderPaid


def creator_sales_count(event: OrderPaid) -> None:
    """Outbox, order.paid: each creator's shop shows a sales band from a counter on their profile. Free claims
    count too (a download is a sale of a free pattern); refunds do not subtract (a band, not a ledger)."""
    counts = Counter(int(str(item["creator_id"])) for item in event.items if item.get("creator_id") is not None)
    catalog_services.creator_sales_add(counts=dict(counts))
