"""Creating orders over the API against localstripe."""

from __future__ import annotations

import pytest

from catalog.models import Pattern
from delivery.models import Entitlement
from payments.models import Order
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def test_order_creates_a_payment_intent(localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    first, second = PatternFactory.create(price=300), PatternFactory.create(price=450)
    response = token_client(buyer).post("/api/v1/orders/", {"pattern_ids": [first.pk, second.pk]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["currency"], body["status"]) == (750, "USD", "pending")
    assert body["client_secret"].startswith("pi_")
    assert sorted(item["pattern_id"] for item in body["items"]) == sorted([first.pk, second.pk])


def test_double_click_returns_the_same_order(localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create()
    client = token_client(buyer)
    one = client.post("/api/v1/orders/", {"pattern_ids": [pattern.pk]}, format="json").json()
    two = client.post("/api/v1/orders/", {"pattern_ids": [pattern.pk]}, format="json").json()
    assert one["id"] == two["id"]
    assert one["client_secret"] == two["client_secret"]
    assert Order.objects.count() == 1


def test_free_patterns_skip_stripe_and_land_in_the_library() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=0)
    response = token_client(buyer).post("/api/v1/orders/", {"pattern_ids": [pattern.pk]}, format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["client_secret"]) == ("paid", "")
    assert Entitlement.objects.filter(buyer=buyer, pattern=pattern).count() == 1


@pytest.mark.parametrize("case", ["unpublished", "own", "owned", "unknown"])
def test_orders_refuse_what_cannot_be_bought(case: str) -> None:
    buyer = UserFactory.create()
    pattern = PatternFactory.create(price=0)
    if case == "unpublished":
        Pattern.objects.filter(pk=pattern.pk).update(status="needs_review")
    elif case == "own":
        Pattern.objects.filter(pk=pattern.pk).update(creator=buyer)
    elif case == "owned":
        paid_entitlement(buyer=buyer, pattern=pattern)
    pattern_id = 999_999 if case == "unknown" else pattern.pk
    orders_before = Order.objects.count()
    response = token_client(buyer).post("/api/v1/orders/", {"pattern_ids": [pattern_id]}, format="json")
    assert response.status_code == 400
    assert "pattern_ids" in response.json()
    assert Order.objects.count() == orders_before


def test_buyers_only_see_their_own_orders() -> None:
    owner, other = UserFactory.create(), UserFactory.create()
    pattern = PatternFactory.create(price=0)
    order_id = token_client(owner).post("/api/v1/orders/", {"pattern_ids": [pattern.pk]}, format="json").json()["id"]
    assert token_client(owner).get(f"/api/v1/orders/{order_id}/").status_code == 200
    assert token_client(other).get(f"/api/v1/orders/{order_id}/").status_code == 404
