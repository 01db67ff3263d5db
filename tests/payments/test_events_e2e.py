"""Issue 11 end to end: a card payment at (local) Stripe, its signed webhook, the entitlement granted inline with
order.paid, and the analytics purchase row written by a real Celery worker from the outbox on the events queue."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from analytics.models import Event
from delivery.models import Entitlement, Package
from marketplace import devserver
from marketplace.events.models import EventRecord, HandlerReceipt
from payments import services, stripe_gateway
from tests.conftest import wait_for
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_payment_grants_the_entitlement_and_the_worker_writes_the_purchase_row_from_the_outbox(
    live_server: Any, celery_worker_process: Any, localstripe: str
) -> None:
    devserver.register_localstripe_webhook(
        port=settings.LOCALSTRIPE_PORT,
        url=f"{live_server.url}/api/v1/stripe/webhook/",
        secret=settings.STRIPE_WEBHOOK_SECRET,
    )
    buyer = UserFactory.create(username="buyer_e2e")
    pattern = PatternFactory.create(price=900)
    order = services.order_create(buyer=buyer, pattern_ids=[pattern.pk])
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    intent = stripe_gateway.payment_intent_confirm_test_card(
        payment_intent_id=str(order.stripe_payment_intent_id), card=card
    )
    assert intent.status == "succeeded"

    # The webhook (live server) pays the order; the worker drains the outbox: this process never drains it.
    row = wait_for(
        lambda: Event.objects.filter(kind="purchase", pattern=pattern).first(),
        timeout=60,
        what="the analytics purchase row from the outbox",
    )
    order.refresh_from_db()
    assert (order.status, order.amount) == ("paid", 900)
    entitlement = Entitlement.objects.get(order_item__order=order)
    assert (entitlement.buyer_id, entitlement.pattern_id, entitlement.revoked_at) == (buyer.pk, pattern.pk, None)
    paid = EventRecord.objects.get(type="order.paid", subject_id=order.pk)
    assert [(e.type, e.actor_id) for e in EventRecord.objects.order_by("id")][:3] == [
        ("order.created", buyer.pk),
        ("order.paid", None),
        ("entitlement.granted", None),
    ]
    assert (row.user_id, row.metadata, row.created_at) == (
        buyer.pk,
        {
            "order_id": order.pk,
            "amount": 900,
            "currency": "USD",
            "net": 792,  # the creator's share after Tessera's fee, as the ledger records it
            "creator_id": pattern.creator_id,
            "returning": False,
            "country": "",  # the emulator's card carries no issuing country
            "source": "direct",
            "query": "",
            "utm_source": "",
            "utm_medium": "",
            "utm_campaign": "",
            "previews": [],
        },
        paid.at,
    )
    receipt = HandlerReceipt.objects.get(event=paid, handler="analytics.handlers.purchases_record")
    assert (receipt.status, receipt.attempts) == ("done", 1)
    # The personal copy is still prepared after commit on the delivery queue, as before.
    wait_for(
        lambda: Package.objects.filter(entitlement=entitlement, status=Package.Status.READY).exists(),
        timeout=60,
        what="the buyer's package",
    )
    assert Event.objects.filter(kind="purchase").count() == 1
