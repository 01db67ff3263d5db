"""Refunds and disputes from Stripe's signed webhooks: the books reverse, entitlements are revoked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from delivery.models import Entitlement
from payments import ledger
from payments.models import Dispute, LedgerTransaction, Order, Refund
from tests.factories import OrderFactory, PatternFactory, order_item_add
from tests.payments.test_webhooks import _event, _post, _signed

pytestmark = pytest.mark.django_db


def _paid_order(client: Any, prices: tuple[int, ...] = (1000, 250)) -> Order:
    """A two-creator order paid through the succeeded webhook."""
    order = OrderFactory.create(amount=sum(prices))
    for price in prices:
        pattern = PatternFactory.create(price=price)
        order_item_add(order=order, pattern=pattern)
    payload = _event(order, amount=order.amount, event_id=f"evt_pay_{order.pk}")
    assert _post(client, payload, _signed(payload)).json()["outcome"] == "fulfilled"
    order.refresh_from_db()
    return order


def _send(client: Any, event_id: str, kind: str, obj: dict[str, Any]) -> str:
    payload = json.dumps({"id": event_id, "type": kind, "data": {"object": obj}}).encode()
    response = _post(client, payload, _signed(payload))
    assert response.status_code == 200
    return str(response.json()["outcome"])


def _refund_event(order: Order, refunded: int, refund_ids: list[str]) -> dict[str, Any]:
    return {
        "id": "ch_1",
        "object": "charge",
        "amount": order.amount,
        "amount_refunded": refunded,
        "payment_intent": order.stripe_payment_intent_id,
        "refunds": {"data": [{"id": r} for r in refund_ids]},
    }


def _creator_balances(order: Order) -> list[int]:
    return [ledger.creator_balance(creator=item.creator, currency="USD") for item in order.items.order_by("pk")]


def test_a_sale_books_fees_and_creator_shares(client) -> None:  # type: ignore[no-untyped-def]
    order = _paid_order(client)
    # 12% of 1000 = 120 and of 250 = 30: creators are owed 880 and 220, Tessera keeps 150.
    assert _creator_balances(order) == [880, 220]
    assert ledger.account_balance(kind="platform_fees", currency="USD") == -150
    assert ledger.account_balance(kind="stripe_balance", currency="USD") == 1250
    assert ledger.trial_balance() == 0


def test_fee_rounds_half_up_and_never_exceeds_the_price(settings) -> None:  # type: ignore[no-untyped-def]
    assert [ledger.platform_fee_for(p) for p in (0, 1, 4, 5, 99, 1000)] == [0, 0, 0, 1, 12, 120]
    settings.TESSERA_PLATFORM_FEE_BPS = 20000
    assert ledger.platform_fee_for(50) == 50


def test_full_refund_reverses_everything_and_revokes_once(client) -> None:  # type: ignore[no-untyped-def]
    order = _paid_order(client)
    event = _refund_event(order, 1250, ["re_1"])
    assert _send(client, "evt_r1", "charge.refunded", event) == "refunded"
    assert _send(client, "evt_r1", "charge.refunded", event) == "duplicate"
    # The same state delivered under another event id (Stripe retries can differ) books nothing more.
    assert _send(client, "evt_r1b", "charge.refunded", event) == "already-refunded"
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("refunded", 1250)
    assert _creator_balances(order) == [0, 0]
    assert ledger.account_balance(kind="platform_fees", currency="USD") == 0
    assert ledger.trial_balance() == 0
    assert Entitlement.objects.filter(revoked_at__isnull=True).count() == 0
    assert set(Entitlement.objects.values_list("revoked_reason", flat=True)) == {"refunded"}
    assert Refund.objects.get().amount == 1250


def test_partial_refunds_in_any_order_book_each_step_once(client) -> None:  # type: ignore[no-untyped-def]
    order = _paid_order(client)
    first = _refund_event(order, 500, ["re_a"])
    second = _refund_event(order, 750, ["re_b", "re_a"])
    assert _send(client, "evt_b", "charge.refunded", second) == "partially-refunded"
    # The older event arriving late says less was refunded than we already booked: nothing to do.
    assert _send(client, "evt_a", "charge.refunded", first) == "already-refunded"
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("partially_refunded", 750)
    # 750 of 1250 comes back pro rata: 600 from the 1000 item (fee 72), 150 from the 250 one (fee 18).
    assert _creator_balances(order) == [880 - 528, 220 - 132]
    assert ledger.account_balance(kind="stripe_balance", currency="USD") == 500
    assert ledger.trial_balance() == 0
    assert Entitlement.objects.filter(revoked_at__isnull=True).count() == 2


def test_dispute_suspends_and_a_won_dispute_restores(client) -> None:  # type: ignore[no-untyped-def]
    order = _paid_order(client)
    dispute = {
        "id": "dp_1",
        "amount": 1250,
        "currency": "usd",
        "charge": "ch_1",
        "payment_intent": order.stripe_payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    assert _send(client, "evt_d1", "charge.dispute.created", dispute) == "disputed"
    assert _send(client, "evt_d1x", "charge.dispute.created", dispute) == "already-recorded"
    order.refresh_from_db()
    assert order.status == "disputed"
    assert _creator_balances(order) == [0, 0]
    assert Entitlement.objects.filter(revoked_at__isnull=True).count() == 0
    assert _send(client, "evt_d2", "charge.dispute.closed", {**dispute, "status": "won"}) == "dispute-won"
    assert _send(client, "evt_d3", "charge.dispute.closed", {**dispute, "status": "won"}) == "already-closed"
    order.refresh_from_db()
    assert order.status == "paid"
    assert _creator_balances(order) == [880, 220]
    assert Entitlement.objects.filter(revoked_at__isnull=True).count() == 2
    assert ledger.trial_balance() == 0


def test_a_lost_dispute_keeps_the_entitlements_revoked(client) -> None:  # type: ignore[no-untyped-def]
    order = _paid_order(client, prices=(800,))
    dispute = {"id": "dp_2", "amount": 800, "currency": "usd", "payment_intent": order.stripe_payment_intent_id}
    _send(client, "evt_l1", "charge.dispute.created", dispute)
    assert _send(client, "evt_l2", "charge.dispute.closed", {**dispute, "status": "lost"}) == "dispute-lost"
    assert Dispute.objects.get().status == "lost"
    assert Entitlement.objects.get().revoked_reason == "disputed"
    assert Entitlement.objects.get().revoked_at is not None
    assert _creator_balances(order) == [0]
    assert list(LedgerTransaction.objects.values_list("kind", flat=True)) == ["sale", "dispute"]


def test_refund_of_an_unknown_or_unpaid_order_books_nothing_yet(client) -> None:  # type: ignore[no-untyped-def]
    order = OrderFactory.create(amount=500)
    event = _refund_event(order, 500, ["re_x"])
    # Kept until the payment succeeds (see test_early_events.py), not applied and not dropped.
    assert _send(client, "evt_u1", "charge.refunded", event) == "deferred"
    assert _send(client, "evt_u2", "charge.refunded", {**event, "payment_intent": "pi_nope"}) == "deferred"
    assert LedgerTransaction.objects.count() == 0
    assert Refund.objects.count() == 0
