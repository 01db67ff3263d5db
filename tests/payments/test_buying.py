"""The buyer's side of issue 10: the guest checkout, "Get it free", checkout and receipt, order history, library."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from delivery.models import Entitlement
from payments import ledger
from payments.cart import cart_ids
from payments.models import LedgerTransaction, Order, Payment
from tests.factories import OrderFactory, PatternFactory, UserFactory, order_item_add, paid_entitlement
from tests.payments.test_refunds_disputes import _refund_event, _send
from tests.payments.test_webhooks import _event, _post, _signed

pytestmark = pytest.mark.django_db
PASSWORD = "secret-pass-123"


def _text(response: Any) -> str:
    """The page's visible text with the markup and runs of white space removed, for exact phrase checks."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# ------------------------------------------------------------------ 1. guest flow: cart -> sign in/up -> checkout


def _guest_cart(client: Client) -> Any:
    pattern = PatternFactory.create(title="Guest lamp", price=1250)
    assert client.post(f"/cart/add/{pattern.pk}/").status_code == 302
    # The cart's "Check out" button posts to /checkout/; a guest is sent to sign in and back to GET /checkout/.
    response = client.post("/checkout/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/checkout/")
    return pattern


def test_a_guest_who_signs_in_comes_back_to_the_checkout_with_the_cart(client: Client) -> None:
    pattern = _guest_cart(client)
    UserFactory.create(username="returning")
    response = client.post("/accounts/login/", {"login": "returning", "password": PASSWORD, "next": "/checkout/"})
    assert (response.status_code, response["Location"]) == (302, "/checkout/")
    page = client.get("/checkout/")
    assert page.status_code == 200  # was 405: the view only accepted POST
    assert cart_ids(client.session) == [pattern.pk]
    text = _text(page)
    assert "Guest lamp Personal USD 12.50" in text
    assert "Continue to payment" in text
    assert Order.objects.count() == 0  # reviewing the cart creates nothing


def test_a_guest_who_signs_up_comes_back_to_the_checkout_with_the_cart(client: Client) -> None:
    pattern = _guest_cart(client)
    signup = client.get("/accounts/signup/?next=/checkout/")
    assert 'name="next" value="/checkout/"' in signup.content.decode()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "newbuyer@example.com",
            "username": "newbuyer",
            "password1": "a-long-new-pass-987",
            "password2": "a-long-new-pass-987",
            "next": "/checkout/",
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/checkout/")
    page = client.get("/checkout/")
    assert page.status_code == 200
    assert page.context["user"].username == "newbuyer"
    assert cart_ids(client.session) == [pattern.pk]
    assert "Guest lamp Personal USD 12.50" in _text(page)


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client: Client) -> None:
    client.force_login(UserFactory.create())
    response = client.get("/checkout/")
    assert (response.status_code, response["Location"]) == (302, "/cart/")
    assert client.put("/checkout/").status_code == 405


# ------------------------------------------------------------------ 2. free patterns: "Get it free"


def test_get_it_free_grants_exactly_one_entitlement_without_stripe_or_the_ledger(client: Client) -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=0, title="Free coaster")
    client.force_login(buyer)
    first = client.post(f"/get-free/{pattern.pk}/")
    second = client.post(f"/get-free/{pattern.pk}/")  # a double click
    assert [(r.status_code, r["Location"]) for r in (first, second)] == [(302, "/library/"), (302, "/library/")]
    assert list(Entitlement.objects.values_list("buyer_id", "pattern_id", "revoked_at")) == [
        (buyer.pk, pattern.pk, None)
    ]
    # The grant is booked as an order of 0 (what the library and order history read), never as a charge.
    order = Order.objects.get()
    assert (order.buyer_id, order.amount, order.status, order.stripe_payment_intent_id, order.client_secret) == (
        buyer.pk,
        0,
        "paid",
        None,
        "",
    )
    assert list(order.items.values_list("pattern_id", "price", "platform_fee")) == [(pattern.pk, 0, 0)]
    assert Payment.objects.count() == 0
    assert LedgerTransaction.objects.count() == 0
    assert ledger.trial_balance() == 0
    assert cart_ids(client.session) == []  # no cart involved
    assert "Free coaster" in client.get("/library/").content.decode()
    history = client.get("/orders/").content.decode()
    assert '<span class="badge ok">Free</span>' in history
    assert "Free coaster" in history


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_get_it_free_requests_grant_one_entitlement() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=0)
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(buyer)
    barrier, codes = threading.Barrier(2), []

    def claim(c: Client) -> None:
        barrier.wait()
        try:
            codes.append(c.post(f"/get-free/{pattern.pk}/").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [302, 302]
    assert Entitlement.objects.filter(buyer=buyer, pattern=pattern).count() == 1
    assert Order.objects.filter(buyer=buyer).count() == 1


def test_get_it_free_refuses_a_paid_pattern_and_changes_nothing(client: Client) -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=500, title="Paid lamp")
    client.force_login(buyer)
    response = client.post(f"/get-free/{pattern.pk}/")
    assert response.status_code == 409
    assert "“Paid lamp” is not free." in response.content.decode()
    assert (Order.objects.count(), Entitlement.objects.count(), LedgerTransaction.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize("case", ["guest", "own", "unpublished", "get"])
def test_get_it_free_refuses_guests_owners_unpublished_and_get(client: Client, case: str) -> None:
    buyer = UserFactory.create()
    pattern = PatternFactory.create(price=0, creator=buyer if case == "own" else UserFactory.create())
    if case == "unpublished":
        pattern.status = "needs_review"
        pattern.save(update_fields=["status"])
    if case != "guest":
        client.force_login(buyer)
    response = client.get(f"/get-free/{pattern.pk}/") if case == "get" else client.post(f"/get-free/{pattern.pk}/")
    expected = {"guest": 302, "own": 404, "unpublished": 404, "get": 405}[case]
    assert response.status_code == expected
    if case == "guest":
        assert response["Location"] == f"/accounts/login/?next=/get-free/{pattern.pk}/"
    assert (Order.objects.count(), Entitlement.objects.count()) == (0, 0)


def test_the_buy_box_offers_get_it_free_or_sign_in_or_the_cart(client: Client) -> None:
    free, paid = PatternFactory.create(price=0), PatternFactory.create(price=700)
    guest_free = _text(client.get(free.get_absolute_url()))
    assert "Sign in to get it free" in guest_free
    assert "Add to cart" not in guest_free
    client.force_login(UserFactory.create())
    page = client.get(free.get_absolute_url()).content.decode()
    assert f'action="/get-free/{free.pk}/"' in page
    assert "Get it free" in page
    assert "Add to cart" not in page
    paid_page = client.get(paid.get_absolute_url()).content.decode()
    assert "Add to cart" in paid_page
    assert "Get it free" not in paid_page
    assert "/get-free/" not in paid_page


# ------------------------------------------------------------------ 3. checkout page and receipt


def _order(buyer: Any, *prices: int, tax: int = 0, status: str = "pending") -> Order:
    order = OrderFactory.create(buyer=buyer, amount=sum(prices) + tax, tax_amount=tax, status=status)
    for price in prices:
        order_item_add(order=order, pattern=PatternFactory.create(price=price, title=f"Item at {price}"))
    return order


def test_the_checkout_page_shows_lines_tiers_tax_and_total(client: Client) -> None:
    buyer = UserFactory.create()
    order = _order(buyer, 1000, 250, tax=225)
    client.force_login(buyer)
    text = _text(client.get(f"/checkout/{order.pk}/"))
    assert "Item at 1000 Personal USD 10.00" in text
    assert "Item at 250 Personal USD 2.50" in text
    assert "Subtotal USD 12.50" in text
    assert "Tax USD 2.25" in text
    assert "Total USD 14.75" in text
    assert "Pay USD 14.75" in text


def test_after_payment_the_receipt_shows_the_card_and_links_to_the_library(client: Client) -> None:
    buyer = UserFactory.create()
    order = _order(buyer, 1250)
    payload = json.dumps(
        {
            "id": "evt_paid_receipt",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": order.stripe_payment_intent_id,
                    "object": "payment_intent",
                    "amount": 1250,
                    "currency": "usd",
                    # localstripe (and an expanded API object) carries the charge itself, with the card.
                    "latest_charge": {
                        "id": "ch_receipt",
                        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
                    },
                }
            },
        }
    ).encode()
    assert _post(client, payload, _signed(payload)).json()["outcome"] == "fulfilled"
    assert list(Payment.objects.values_list("stripe_charge_id", "card_brand", "card_last4")) == [
        ("ch_receipt", "visa", "4242")
    ]
    client.force_login(buyer)
    # The checkout page of a paid order is the receipt (where Stripe.js's success lands).
    response = client.get(f"/checkout/{order.pk}/")
    assert (response.status_code, response["Location"]) == (302, f"/orders/{order.pk}/receipt/")
    receipt = client.get(f"/orders/{order.pk}/receipt/")
    text = _text(receipt)
    assert f"Receipt · order #{order.pk}" in text
    assert "Visa ending in 4242" in text
    assert "Item at 1250 Personal USD 12.50" in text
    assert "Total USD 12.50" in text
    assert "Paid" in text
    assert 'href="/library/">Download in your library' in receipt.content.decode()
    paid_at = Order.objects.get(pk=order.pk).paid_at
    assert f'<time datetime="{paid_at.isoformat()}" data-local-time>' in receipt.content.decode()  # type: ignore[union-attr]


# ------------------------------------------------------------------ 4. order history


def _paid(client: Client, buyer: Any, *prices: int) -> Order:
    """An order of ``buyer`` paid through Stripe's signed succeeded webhook (booked, entitlements granted)."""
    order = _order(buyer, *prices)
    payload = _event(order, amount=order.amount, event_id=f"evt_pay_{order.pk}")
    assert _post(client, payload, _signed(payload)).json()["outcome"] == "fulfilled"
    order.refresh_from_db()
    return order


def test_order_history_lists_every_order_with_its_status_and_refunds_stay(client: Client) -> None:
    buyer = UserFactory.create()
    refunded = _paid(client, buyer, 1000)
    assert _send(client, "evt_full", "charge.refunded", _refund_event(refunded, 1000, ["re_full"])) == "refunded"
    partly = _paid(client, buyer, 800, 200)
    assert _send(client, "evt_part", "charge.refunded", _refund_event(partly, 200, ["re_part"])) == (
        "partially-refunded"
    )
    pending = _order(buyer, 300)
    client.force_login(buyer)
    page = client.get("/orders/")
    rows = {row["order"].pk: row for row in page.context["rows"]}
    assert list(rows) == [pending.pk, partly.pk, refunded.pk]  # newest first
    html = page.content.decode()
    for order, label in ((refunded, "Refunded"), (partly, "Partly refunded"), (pending, "Awaiting payment")):
        row = html[html.index(f'id="order-{order.pk}"') :]
        row = row[: row.index("</tr>")]
        assert f">{label}</span>" in row, (order.status, row)
    assert "USD 10.00" in html
    assert "−USD 10.00 refunded" in html
    assert "−USD 2.00 refunded" in html
    # The refunded purchase is no longer downloadable but still in the library, marked.
    library = client.get("/library/")
    assert [e["order_id"] for e in library.context["entries"]] == [partly.pk, partly.pk]
    revoked = library.context["revoked"]
    assert [(e.order_item.order_id, e.revoked_reason) for e in revoked] == [(refunded.pk, "refunded")]
    assert "No longer available" in _text(library)
    assert ">Refunded</span>" in library.content.decode()


def test_a_disputed_order_shows_disputed(client: Client) -> None:
    order = _paid(client, UserFactory.create(), 600)
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 600,
        "currency": "usd",
        "payment_intent": order.stripe_payment_intent_id,
        "status": "needs_response",
        "reason": "fraudulent",
    }
    assert _send(client, "evt_dp", "charge.dispute.created", dispute) == "disputed"
    client.force_login(order.buyer)
    assert ">Disputed</span>" in client.get("/orders/").content.decode()
    assert "disputed with your bank" in _text(client.get(f"/orders/{order.pk}/receipt/"))


def test_receipts_are_for_their_buyer_only(client: Client) -> None:
    owner, other = UserFactory.create(), UserFactory.create()
    order = _order(owner, 500, status="paid")
    client.force_login(other)
    assert client.get(f"/orders/{order.pk}/receipt/").status_code == 404
    assert client.get("/orders/").context["rows"] == []
    client.logout()
    response = client.get(f"/orders/{order.pk}/receipt/")
    assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next=/orders/{order.pk}/receipt/")
    assert client.get("/orders/").status_code == 302


def test_order_history_runs_the_same_queries_for_1_and_5_orders(client: Client, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    client.force_login(buyer)
    _order(buyer, 100, 200, status="paid")
    client.get("/orders/")  # warm the session and content types
    # user, orders, their items (with pattern, licence, entitlement), their payments (the session is read from Redis)
    with django_assert_num_queries(4):
        assert len(client.get("/orders/").context["rows"]) == 1
    for _ in range(4):
        _order(buyer, 300, 400, 500, status="paid")
    with django_assert_num_queries(4):
        assert len(client.get("/orders/").context["rows"]) == 5


# ------------------------------------------------------------------ 5. library


def test_library_has_thumbnails_local_times_styled_actions_and_an_empty_state(client: Client) -> None:
    from django.core.files.base import ContentFile

    from catalog.models import Preview
    from tests import samples

    buyer = UserFactory.create()
    client.force_login(buyer)
    empty = client.get("/library/")
    assert "Nothing here yet" in _text(empty)
    assert 'href="/orders/"' in empty.content.decode()
    pattern = PatternFactory.create(title="Thumb lamp")
    preview = Preview(pattern=pattern, pattern_file=pattern.files.get(), label="Top", width=8, height=6)
    preview.image.save("p.png", ContentFile(samples.png_tile(8)))
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern)
    html = client.get("/library/").content.decode()
    assert f'src="http://testserver{preview.url}" alt="" width="8" height="6" loading="lazy"' in html
    created = timezone.localtime(entitlement.created_at, dt.UTC)
    assert f'<time datetime="{created.isoformat()}" data-local-time>' in html
    assert created.strftime("%-d %b %Y, %H:%M") + " UTC</time>" in html
    assert '<a class="btn small" href="http://testserver/download/' in html
    assert "/static/tessera/buying.js" in html


def test_the_card_that_paid_is_read_back_from_stripe_once(localstripe: str) -> None:
    from payments import services, stripe_gateway

    buyer = UserFactory.create()
    order = services.order_create(buyer=buyer, pattern_ids=[PatternFactory.create(price=900).pk])
    assert order.stripe_payment_intent_id is not None
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    intent_id = order.stripe_payment_intent_id
    intent = stripe_gateway.payment_intent_confirm_test_card(payment_intent_id=intent_id, card=card)
    assert intent.status == "succeeded"
    payment = Payment.objects.create(
        order=order, stripe_payment_intent_id=intent.id, amount=900, currency="USD", status="succeeded"
    )
    services.payment_card_record(payment_id=payment.pk)
    services.payment_card_record(payment_id=payment.pk)  # a retried task changes nothing
    assert list(Payment.objects.values_list("pk", "card_brand", "card_last4")) == [(payment.pk, "visa", "4242")]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_free_api_orders_grant_one_entitlement_and_refuse_the_other() -> None:
    from rest_framework.test import APIClient

    buyer, pattern = UserFactory.create(), PatternFactory.create(price=0, title="Free hook")
    clients = [APIClient(), APIClient()]
    for c in clients:
        c.force_authenticate(buyer)
    barrier, codes, bodies = threading.Barrier(2), [], []

    def order(c: APIClient) -> None:
        barrier.wait()
        try:
            response = c.post("/api/v1/orders/", {"pattern_ids": [pattern.pk]}, format="json")
            codes.append(response.status_code)
            bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=order, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 400]
    refused = next(b for c, b in zip(codes, bodies, strict=True) if c == 400)
    assert refused == {"pattern_ids": ["You already own “Free hook”; it is in your library."]}
    assert Entitlement.objects.filter(buyer=buyer, pattern=pattern).count() == 1
    assert Order.objects.filter(buyer=buyer).count() == 1
