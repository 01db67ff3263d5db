"""Issue 9, item 4: the emulator declines Stripe's standard test cards; the order stays unpaid, nothing granted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog.models import User
from delivery.models import Entitlement
from payments import stripe_gateway
from payments.models import Order, Payment
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db


def _confirm(client: Any, order_id: int, number: str) -> Any:
    card = {"number": number, "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    return client.post(
        f"/checkout/{order_id}/confirm-local/", json.dumps({"card": card}), content_type="application/json"
    )


def _pending_order(buyer: User) -> Order:
    pattern = PatternFactory.create(price=1250)
    response = token_client(buyer).post("/api/v1/orders/", {"pattern_ids": [pattern.pk]}, format="json")
    assert response.status_code == 201
    return Order.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize(
    ("number", "message", "intent_status", "decline_code"),
    [
        ("4000000000000002", "Your card was declined.", "requires_payment_method", "generic_decline"),
        ("4000000000009995", "Your card has insufficient funds.", "requires_payment_method", "insufficient_funds"),
        ("4000002760003184", "requires authentication (3-D Secure)", "requires_action", None),
    ],
    ids=["generic-decline", "insufficient-funds", "3ds-required"],
)
def test_declined_test_cards_leave_the_order_unpaid_and_a_good_card_then_pays(  # type: ignore[no-untyped-def]
    client, localstripe, number: str, message: str, intent_status: str, decline_code: str | None
) -> None:
    buyer = UserFactory.create()
    client.force_login(buyer)
    order = _pending_order(buyer)
    response = _confirm(client, order.pk, number)
    assert response.status_code == 402
    assert message in response.json()["error"]
    intent = stripe_gateway._client().v1.payment_intents.retrieve(str(order.stripe_payment_intent_id))
    assert intent.status == intent_status
    if decline_code:
        charge: Any = intent.latest_charge  # localstripe expands it
        assert not isinstance(charge, str | None)
        assert (charge.status, charge.failure_code, charge.outcome["reason"]) == (
            "failed",
            "card_declined",
            decline_code,
        )
    order.refresh_from_db()
    assert (order.status, order.paid_at) == ("pending", None)
    assert Payment.objects.count() == 0
    assert Entitlement.objects.count() == 0
    # As with Stripe, the same PaymentIntent can then be paid with another card.
    retry = _confirm(client, order.pk, "4242424242424242")
    assert (retry.status_code, retry.json()["status"]) == (200, "succeeded")
