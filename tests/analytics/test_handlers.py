"""Issue 11: analytics writes its purchase rows from order.paid in the outbox (after commit, once), not inside
payments' transaction."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.models import Event
from marketplace.events.models import EventRecord, HandlerReceipt
from marketplace.events.services import outbox_drain
from payments import ledger, services
from tests.factories import OrderFactory, PatternFactory, UserFactory, order_item_add
from tests.payments.test_webhooks import _event, _post, _signed

pytestmark = pytest.mark.django_db

# Issue 13: what led to a purchase (no tracked visit here).
NOTHING_LED_TO_IT = {
    "source": "direct",
    "query": "",
    "utm_source": "",
    "utm_medium": "",
    "utm_campaign": "",
    "previews": [],
}


def test_purchase_rows_appear_after_the_outbox_drains_and_a_second_drain_adds_none(client: Any) -> None:
    order = OrderFactory.create(amount=1250)
    patterns = [PatternFactory.create(price=1000), PatternFactory.create(price=250)]
    for pattern in patterns:
        order_item_add(order=order, pattern=pattern)
    payload = _event(order, amount=1250, event_id="evt_purchase")
    assert _post(client, payload, _signed(payload)).json()["outcome"] == "fulfilled"
    purchases = Event.objects.filter(kind="purchase")
    assert purchases.count() == 0  # payments no longer writes them in its transaction
    outbox_drain()
    paid = EventRecord.objects.get(type="order.paid")
    receipt = HandlerReceipt.objects.get(event=paid, handler="analytics.handlers.purchases_record")
    assert (receipt.status, receipt.attempts) == ("done", 1)
    rows = [(r.user_id, r.pattern_id, r.metadata, r.created_at) for r in purchases.order_by("pattern_id")]
    assert rows == sorted(
        [
            (
                order.buyer_id,
                p.pk,
                {
                    "order_id": order.pk,
                    "amount": p.price,
                    "currency": "USD",
                    # issue 13: what creator insights show (net of Tessera's fee, first purchase from them)
                    "net": p.price - ledger.platform_fee_for(p.price),
                    "creator_id": p.creator_id,
                    "returning": False,
                    "country": "",
                    **NOTHING_LED_TO_IT,
                },
                paid.at,
            )
            for p in patterns
        ],
        key=lambda row: row[1],
    )
    assert outbox_drain() == 0
    assert purchases.count() == 2
    receipt = HandlerReceipt.objects.get(event=paid, handler__startswith="analytics.")
    assert (receipt.handler, receipt.status) == ("analytics.handlers.purchases_record", "done")


def test_a_free_claim_is_counted_as_a_purchase_of_zero() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=0)
    order, _ = services.pattern_claim_free(buyer=buyer, pattern_id=pattern.pk)
    assert order is not None
    assert not Event.objects.filter(kind="purchase").exists()
    outbox_drain()
    [row] = Event.objects.filter(kind="purchase")
    assert (row.user_id, row.pattern_id, row.metadata) == (
        buyer.pk,
        pattern.pk,
        {
            "order_id": order.pk,
            "amount": 0,
            "currency": "USD",
            "net": 0,
            "creator_id": pattern.creator_id,
            "returning": False,
            "country": "",
            **NOTHING_LED_TO_IT,
        },
    )
