"""The Stripe webhook: signatures are verified, events are applied exactly once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings

from delivery.models import Entitlement
from payments.models import Order, OrderItem, Payment, WebhookEvent
from tests.factories import OrderFactory, PatternFactory

pytestmark = pytest.mark.django_db


def _signed(payload: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    timestamp = timestamp or int(time.time())
    secret = secret or settings.STRIPE_WEBHOOK_SECRET
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def _order_with_item():  # type: ignore[no-untyped-def]
    pattern = PatternFactory.create(price=750)
    order = OrderFactory.create(amount=750)
    OrderItem.objects.create(
        order=order,
        pattern=pattern,
        creator=pattern.creator,
        licence=pattern.licence,
        price=750,
        currency="USD",
    )
    return order


def _event(
    order: Order, *, event_id: str = "evt_1", amount: int = 750, kind: str = "payment_intent.succeeded"
) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": kind,
            "data": {
                "object": {
                    "id": order.stripe_payment_intent_id,
                    "object": "payment_intent",
                    "amount": amount,
                    "currency": "usd",
                    "latest_charge": "ch_1",
                    "status": "succeeded",
                }
            },
        }
    ).encode()


def _post(client, payload: bytes, signature: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def test_bad_signature_is_refused_and_changes_nothing(client) -> None:  # type: ignore[no-untyped-def]
    order = _order_with_item()
    payload = _event(order)
    for signature in ("", "t=1,v1=deadbeef", _signed(payload, secret="whsec_wrong"), _signed(payload + b" ")):
        response = _post(client, payload, signature)
        assert response.status_code == 400
    assert _post(client, payload, _signed(payload, timestamp=int(time.time()) - 3600)).status_code == 400
    order.refresh_from_db()
    assert order.status == "pending"
    assert WebhookEvent.objects.count() == 0
    assert Entitlement.objects.count() == 0
    assert Payment.objects.count() == 0


def test_succeeded_event_pays_the_order_once_even_when_delivered_twice(client) -> None:  # type: ignore[no-untyped-def]
    order = _order_with_item()
    payload = _event(order)
    first = _post(client, payload, _signed(payload))
    second = _post(client, payload, _signed(payload))
    assert (first.status_code, first.json()["outcome"]) == (200, "fulfilled")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.paid_at is not None
    assert Entitlement.objects.filter(buyer=order.buyer).count() == 1
    assert Payment.objects.get().stripe_charge_id == "ch_1"
    assert WebhookEvent.objects.count() == 1


def test_a_second_event_for_a_paid_order_grants_nothing_more(client) -> None:  # type: ignore[no-untyped-def]
    order = _order_with_item()
    for event_id in ("evt_a", "evt_b"):
        payload = _event(order, event_id=event_id)
        _post(client, payload, _signed(payload))
    assert Entitlement.objects.count() == 1
    assert Payment.objects.count() == 1


def test_payment_failed_records_the_reason(client) -> None:  # type: ignore[no-untyped-def]
    order = _order_with_item()
    payload = json.dumps(
        {
            "id": "evt_f",
            "type": "payment_intent.payment_failed",
            "data": {
                "object": {
                    "id": order.stripe_payment_intent_id,
                    "last_payment_error": {"message": "Your card was declined."},
                }
            },
        }
    ).encode()
    assert _post(client, payload, _signed(payload)).status_code == 200
    order.refresh_from_db()
    assert (order.status, order.failure_reason) == ("pending", "Your card was declined.")
