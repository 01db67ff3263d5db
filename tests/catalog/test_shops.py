"""Issue 12 (h/shops): a creator's shop page and API, the sales band from order.paid, the shop link."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from catalog.models import CreatorProfile, Pattern
from catalog.selectors import sales_band
from marketplace.events import record
from marketplace.events.services import outbox_drain
from payments.models import Order
from payments.services import order_paid_event
from tests.factories import PatternFactory, UserFactory, order_item_add

pytestmark = pytest.mark.django_db


def _shop(username: str = "mira") -> CreatorProfile:
    user = UserFactory.create(username=username)
    return CreatorProfile.objects.create(
        user=user, display_name="Mira Makes", bio="Lamps and vases.", links=["https://mira.example/"]
    )


def test_the_shop_page_shows_the_profile_and_only_the_creators_published_patterns(client: Client) -> None:
    shop = _shop()
    PatternFactory.create(creator=shop.user, title="Mira lamp")
    PatternFactory.create(creator=shop.user, title="Mira draft", status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    PatternFactory.create(creator=shop.user, title="Mira gone", status=Pattern.Status.DELETED)
    PatternFactory.create(title="Someone else's vase")

    response = client.get("/creators/mira/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mira Makes" in html
    assert "Lamps and vases." in html
    assert 'href="https://mira.example/"' in html
    assert "Mira lamp" in html
    for hidden in ("Mira draft", "Mira gone", "Someone else&#x27;s vase"):
        assert hidden not in html
    assert response.context["page"].paginator.count == 1
    # The facets count the shop's patterns only.
    assert [option.count for option in response.context["facets"].categories] == [1]
    assert client.get("/creators/nobody/").status_code == 404


def test_the_pattern_page_links_the_creator_to_their_shop(client: Client) -> None:
    shop = _shop()
    pattern = PatternFactory.create(creator=shop.user)
    assert 'href="/creators/mira/"' in client.get(pattern.get_absolute_url()).content.decode()


def test_creator_api_and_the_sales_band_counted_from_order_paid(api_client: APIClient) -> None:
    shop = _shop()
    pattern = PatternFactory.create(creator=shop.user)
    body = api_client.get("/api/v1/creators/mira/").json()
    assert body == {
        "username": "mira",
        "display_name": "Mira Makes",
        "bio": "Lamps and vases.",
        "avatar": None,
        "banner": None,
        "links": ["https://mira.example/"],
        "sales_band": "",
        "rating": {"average": None, "count": 0},
        "pattern_count": 1,
        "url": "http://testserver/creators/mira/",
    }
    assert api_client.get("/api/v1/creators/nobody/").status_code == 404

    for _ in range(10):
        buyer = UserFactory.create()
        order = Order.objects.create(buyer=buyer, amount=500, currency="USD", status=Order.Status.PAID)
        order_item_add(order=order, pattern=pattern)
        with transaction.atomic():
            record(order_paid_event(order=order, actor_id=buyer.pk))
    outbox_drain()
    outbox_drain()  # a second drain counts nothing twice
    shop.refresh_from_db()
    assert shop.sales_count == 10
    assert api_client.get("/api/v1/creators/mira/").json()["sales_band"] == "10+ sales"


def test_sales_bands() -> None:
    assert [sales_band(n) for n in (0, 1, 9, 10, 49, 50, 100, 999, 1000)] == [
        "",
        "1+ sale",
        "1+ sale",
        "10+ sales",
        "10+ sales",
        "50+ sales",
        "100+ sales",
        "500+ sales",
        "1000+ sales",
    ]
