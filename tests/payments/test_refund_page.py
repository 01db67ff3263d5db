"""Refunds from the admin go through a confirmation page: amount (all or part) and a reason, then Stripe.

Against a real localstripe: the refund Stripe holds has exactly the amount asked for, and the books
follow Stripe's charge.refunded event (built from localstripe's own charge) to the cent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from catalog.models import User
from delivery.models import Entitlement
from payments import ledger, stripe_gateway
from payments.models import LedgerEntry, LedgerTransaction, Order, Refund
from tests.factories import OrderFactory, PatternFactory, UserFactory, order_item_add
from tests.payments.test_webhooks import _post, _signed

pytestmark = pytest.mark.django_db


def _staff(*perms: str) -> Client:
    staff = UserFactory.create(is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(User.objects.get(pk=staff.pk))
    return client


def _stripe(path: str, **params: Any) -> Any:
    auth = {"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"}
    return requests.get(f"{settings.STRIPE_API_BASE}/v1/{path}", params=params, headers=auth, timeout=10).json()


def _send(client: Client, event_id: str, kind: str, obj: dict[str, Any]) -> str:
    payload = json.dumps({"id": event_id, "type": kind, "data": {"object": obj}}).encode()
    response = _post(client, payload, _signed(payload))
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def _paid_at_localstripe(client: Client, prices: tuple[int, ...] = (1000, 250)) -> Order:
    """A two-creator order charged at localstripe and fulfilled by its payment_intent.succeeded event."""
    order = OrderFactory.create(amount=sum(prices), stripe_payment_intent_id=None)
    for price in prices:
        order_item_add(order=order, pattern=PatternFactory.create(price=price))
    intent = stripe_gateway.payment_intent_create(
        amount=order.amount, currency="USD", metadata={"order_id": str(order.pk)}, idempotency_key=f"rp-{order.pk}"
    )
    Order.objects.filter(pk=order.pk).update(stripe_payment_intent_id=intent.id)
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    assert stripe_gateway.payment_intent_confirm_test_card(payment_intent_id=intent.id, card=card).status == "succeeded"
    paid = _stripe(f"payment_intents/{intent.id}")
    paid["latest_charge"] = (
        paid["latest_charge"]["id"] if isinstance(paid["latest_charge"], dict) else paid["latest_charge"]
    )
    assert _send(client, f"evt_paid_{order.pk}", "payment_intent.succeeded", paid) == "fulfilled"
    return Order.objects.get(pk=order.pk)


def _stripe_refunds(order: Order) -> list[tuple[int, str]]:
    charge_id = _stripe(f"payment_intents/{order.stripe_payment_intent_id}")["latest_charge"]
    charge_id = charge_id["id"] if isinstance(charge_id, dict) else charge_id
    return [(r["amount"], r["metadata"].get("reason", "")) for r in _stripe("refunds", charge=charge_id)["data"]]


def _page(order: Order) -> str:
    return f"/admin/payments/order/{order.pk}/refund/"


def test_a_partial_refund_is_confirmed_sent_to_stripe_and_booked_to_the_cent(localstripe: str, client: Client) -> None:
    order = _paid_at_localstripe(client)
    staff = _staff("payments.view_order", "payments.change_order")

    page = staff.get(_page(order))
    assert page.status_code == 200
    body = page.content.decode()
    assert "USD 12.50" in body
    assert "USD 10.00" in body
    assert "USD 2.50" in body
    assert 'name="amount"' in body
    assert 'value="12.50"' in body
    assert _stripe_refunds(order) == []  # opening the page refunds nothing

    response = staff.post(_page(order), {"amount": "4.00", "reason": "One file was broken"})
    assert response.status_code == 302
    assert response["Location"] == f"/admin/payments/order/{order.pk}/change/"
    assert _stripe_refunds(order) == [(400, "One file was broken")]
    # Nothing is booked until Stripe confirms it.
    assert LedgerTransaction.objects.filter(kind="refund").count() == 0

    charge_id = _stripe(f"payment_intents/{order.stripe_payment_intent_id}")["latest_charge"]
    charge = _stripe(f"charges/{charge_id['id'] if isinstance(charge_id, dict) else charge_id}")
    assert charge["amount_refunded"] == 400
    assert _send(client, "evt_partial", "charge.refunded", charge) == "partially-refunded"

    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("partially_refunded", 400)
    refund = Refund.objects.get()
    assert (refund.amount, refund.currency, refund.reason) == (400, "USD", "One file was broken")
    booked = LedgerTransaction.objects.get(kind="refund")
    # 850 of 1250 is kept, pro rata 680 + 170; fees on what is kept round down (81 + 20 of 120 + 30), so
    # the refund takes back 39 + 10 in fees and 281 + 70 from the two creators.
    entries = sorted((e.account.kind, e.amount) for e in LedgerEntry.objects.filter(transaction=booked))
    assert entries == sorted(
        [
            ("stripe_balance", -400),
            ("platform_fees", 39),
            ("creator_payable", 281),
            ("platform_fees", 10),
            ("creator_payable", 70),
        ]
    )
    assert ledger.account_balance(kind="stripe_balance", currency="USD") == 850
    assert ledger.trial_balance() == 0
    assert Entitlement.objects.filter(revoked_at__isnull=True).count() == 2  # a partial refund keeps access

    # The rest can still be refunded, and no more.
    assert 'value="8.50"' in staff.get(_page(order)).content.decode()


def test_more_than_is_refundable_or_no_reason_is_a_form_error(localstripe: str, client: Client) -> None:
    order = _paid_at_localstripe(client, prices=(1250,))
    staff = _staff("payments.view_order", "payments.change_order")
    for data, error in (
        ({"amount": "12.51", "reason": "Goodwill"}, "At most USD 12.50 can be refunded"),
        ({"amount": "0", "reason": "Goodwill"}, "greater than or equal to 0.01"),
        ({"amount": "abc", "reason": "Goodwill"}, "Enter a number."),
        ({"amount": "1.005", "reason": "Goodwill"}, "no more than 2 decimal places"),
        ({"amount": "5.00", "reason": "   "}, "This field is required."),
    ):
        response = staff.post(_page(order), data)
        assert response.status_code == 200
        assert error in response.content.decode()
    assert _stripe_refunds(order) == []
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("paid", 0)


def test_staff_without_the_refund_permission_get_403_and_nothing_is_refunded(localstripe: str, client: Client) -> None:
    order = _paid_at_localstripe(client, prices=(1250,))
    viewer = _staff("payments.view_order")
    assert viewer.get(_page(order)).status_code == 403
    assert viewer.post(_page(order), {"amount": "12.50", "reason": "Because"}).status_code == 403
    assert _stripe_refunds(order) == []
    assert Refund.objects.count() == 0


def test_an_unpaid_order_offers_no_refund() -> None:
    order = OrderFactory.create(amount=500)
    staff = _staff("payments.view_order", "payments.change_order")
    response = staff.post(_page(order), {"amount": "5.00", "reason": "Because"})
    assert response.status_code == 200
    assert "it was never paid" in response.content.decode()
    assert 'name="amount"' not in response.content.decode()
    assert staff.get("/admin/payments/order/999999/refund/").status_code == 404


def test_the_order_admin_shows_money_not_cents(client: Client) -> None:
    order = OrderFactory.create(amount=1250, currency="EUR")
    order_item_add(order=order, pattern=PatternFactory.create(price=1250, currency="EUR"))
    staff = _staff("payments.view_order", "payments.change_order", "payments.view_orderitem")
    listing = staff.get("/admin/payments/order/").content.decode()
    assert "EUR 12.50" in listing
    assert ">1250<" not in listing
    change = staff.get(f"/admin/payments/order/{order.pk}/change/").content.decode()
    assert "EUR 12.50" in change
    assert "EUR 1.50" in change
    assert 'name="amount"' not in change
