"""Personal and Commercial licence tiers, each with its own price."""

from __future__ import annotations

import pytest

from payments.models import Order, OrderItem
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_commercial_tier_is_bought_at_its_own_price(localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    tiered = PatternFactory.create(price=500, commercial_price=2500)
    plain = PatternFactory.create(price=300)
    response = token_client(buyer).post(
        "/api/v1/orders/", {"pattern_ids": [tiered.pk, plain.pk], "commercial_ids": [tiered.pk]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == 2800
    items = {item["pattern_id"]: item for item in body["items"]}
    assert (items[tiered.pk]["licence"], items[tiered.pk]["price"]) == ("commercial", 2500)
    assert (items[plain.pk]["licence"], items[plain.pk]["price"]) == ("personal", 300)
    assert OrderItem.objects.get(pattern=tiered).platform_fee == 300


def test_a_tier_that_is_not_offered_is_refused() -> None:
    buyer, plain = UserFactory.create(), PatternFactory.create(price=300)
    response = token_client(buyer).post(
        "/api/v1/orders/", {"pattern_ids": [plain.pk], "commercial_ids": [plain.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "not offered with a commercial licence" in str(response.json())
    assert Order.objects.count() == 0


def test_changing_the_tier_is_a_different_order_not_a_double_click(localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer, tiered = UserFactory.create(), PatternFactory.create(price=500, commercial_price=2500)
    client = token_client(buyer)
    personal = client.post("/api/v1/orders/", {"pattern_ids": [tiered.pk]}, format="json").json()
    again = client.post("/api/v1/orders/", {"pattern_ids": [tiered.pk]}, format="json").json()
    commercial = client.post(
        "/api/v1/orders/", {"pattern_ids": [tiered.pk], "commercial_ids": [tiered.pk]}, format="json"
    ).json()
    assert personal["id"] == again["id"]
    assert commercial["id"] != personal["id"]
    assert (personal["amount"], commercial["amount"]) == (500, 2500)


def test_cart_offers_and_keeps_the_chosen_tier(client) -> None:  # type: ignore[no-untyped-def]
    tiered = PatternFactory.create(price=500, commercial_price=2500, title="Quilt block")
    page = client.get(tiered.get_absolute_url()).content.decode()
    assert "Add with Commercial licence — USD 25.00" in page
    client.post(f"/cart/add/{tiered.pk}/", {"tier": "commercial"})
    cart = client.get("/cart/")
    assert [(line["tier"], line["price"]) for line in cart.context["lines"]] == [("Commercial", 2500)]
    client.post(f"/cart/add/{tiered.pk}/", {})
    cart = client.get("/cart/")
    assert [(line["tier"], line["price"]) for line in cart.context["lines"]] == [("Personal", 500)]


def test_creators_offer_a_commercial_tier_only_on_top_of_personal(user) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog.models import Licence
    from ingestion.submit import pattern_create
    from tests import samples

    with pytest.raises(ValidationError) as caught:
        pattern_create(
            creator=user,
            title="Bad tiers",
            description="",
            price=900,
            commercial_price=400,
            currency="USD",
            licence=Licence.objects.get(code="personal"),
            uploads=[SimpleUploadedFile("a.stl", samples.stl_cube())],
        )
    assert "commercial_price" in caught.value.message_dict
