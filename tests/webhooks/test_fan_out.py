"""The outbox handler: which endpoints get a delivery for an event and what each is told."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction

from catalog.events import PatternPublished, PatternRejected
from marketplace.events import record
from marketplace.events.models import HandlerReceipt
from marketplace.events.services import outbox_drain
from payments.events import OrderPaid, OrderRefunded, PayoutPaid
from payments.models import Order
from payments.services import order_paid_event
from tests.factories import OrderFactory, PatternFactory, StaffFactory, UserFactory, order_item_add
from webhooks import services
from webhooks.models import Delivery, Endpoint

HANDLER = "webhooks.handlers.event_fan_out"


def _endpoint(owner: Any, events: list[str], *, port: int = 8649) -> Endpoint:
    return services.endpoint_create(owner=owner, url=f"http://127.0.0.1:{port}/hook", events=events)


def _order_paid(order: Order) -> OrderPaid:
    """The event payments records for the paid order, as a free order's buyer would set it off."""
    return order_paid_event(order=order, actor_id=order.buyer_id)


def _body(delivery: Delivery) -> dict[str, Any]:
    return dict(json.loads(delivery.body))


@pytest.fixture
def sale() -> dict[str, Any]:
    ana, ben = UserFactory.create(username="ana"), UserFactory.create(username="ben")
    buyer = UserFactory.create(username="buyer", email="buyer.private@example.com")
    ana_pattern = PatternFactory.create(creator=ana, title="Ana's planter", price=700, with_file=False)
    ben_pattern = PatternFactory.create(creator=ben, title="Ben's coaster", price=300, with_file=False)
    order = OrderFactory.create(buyer=buyer, amount=1000, status=Order.Status.PAID)
    order_item_add(order=order, pattern=ana_pattern)
    order_item_add(order=order, pattern=ben_pattern)
    return {"ana": ana, "ben": ben, "buyer": buyer, "order": order, "ana_pattern": ana_pattern}


@pytest.mark.django_db
def test_a_creator_is_told_only_about_their_own_lines_and_never_the_buyer(sale: dict[str, Any]) -> None:
    ana_endpoint = _endpoint(sale["ana"], ["order.paid"])
    ben_endpoint = _endpoint(sale["ben"], ["order.paid", "pattern.published"])
    bystander = _endpoint(UserFactory.create(), ["order.paid"])
    staff_endpoint = _endpoint(StaffFactory.create(), ["order.paid"])
    not_subscribed = _endpoint(sale["ana"], ["payout.paid"])
    event = _order_paid(sale["order"])
    with transaction.atomic():
        record(event)
    outbox_drain()
    assert HandlerReceipt.objects.get(event__uuid=event.event_id, handler=HANDLER).status == "done"

    deliveries = {delivery.endpoint_id: delivery for delivery in Delivery.objects.all()}
    assert set(deliveries) == {ana_endpoint.pk, ben_endpoint.pk, staff_endpoint.pk}
    assert bystander.pk not in deliveries
    assert not_subscribed.pk not in deliveries
    ana_body = _body(deliveries[ana_endpoint.pk])
    assert ana_body["type"] == "order.paid"
    assert ana_body["data"] == {
        "order_id": sale["order"].pk,
        "currency": "USD",
        "items": [
            {"pattern_id": sale["ana_pattern"].pk, "title": "Ana's planter", "licence": "personal", "price": 700}
        ],
    }
    assert [item["title"] for item in _body(deliveries[ben_endpoint.pk])["data"]["items"]] == ["Ben's coaster"]
    for creator_delivery in (deliveries[ana_endpoint.pk], deliveries[ben_endpoint.pk]):
        assert "buyer" not in creator_delivery.body
        assert "example.com" not in creator_delivery.body
    staff_data = _body(deliveries[staff_endpoint.pk])["data"]
    assert staff_data["buyer_id"] == sale["buyer"].pk
    assert len(staff_data["items"]) == 2
    # One message id per event, shared by every endpoint and every retry.
    assert {delivery.webhook_id for delivery in deliveries.values()} == {f"msg_{event.event_id.hex}"}


@pytest.mark.django_db
def test_a_rerun_of_the_handler_creates_no_second_delivery(sale: dict[str, Any]) -> None:
    _endpoint(sale["ana"], ["order.paid"])
    event = _order_paid(sale["order"])
    with transaction.atomic():
        services.delivery_create_for_event(event)
    with transaction.atomic():
        services.delivery_create_for_event(event)
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_pattern_refund_and_payout_events_reach_only_their_creator(sale: dict[str, Any]) -> None:
    ana_endpoint = _endpoint(
        sale["ana"], ["pattern.published", "pattern.rejected", "order.refunded", "payout.paid"], port=8648
    )
    ben_endpoint = _endpoint(sale["ben"], ["pattern.published", "pattern.rejected", "order.refunded", "payout.paid"])
    disabled = _endpoint(sale["ana"], ["pattern.published"], port=8647)
    services.endpoint_update(endpoint=disabled, status="disabled")
    pattern = sale["ana_pattern"]
    with transaction.atomic():
        record(PatternPublished(pattern_id=pattern.pk, creator_id=sale["ana"].pk, reason="Looks great"))
        record(PatternRejected(pattern_id=pattern.pk, creator_id=sale["ana"].pk, reason="Blurry", reason_code="img"))
        record(PayoutPaid(payout_id=9, creator_id=sale["ana"].pk, amount=616, currency="USD"))
        record(
            OrderRefunded(
                order_id=sale["order"].pk,
                buyer_id=sale["buyer"].pk,
                amount=300,
                currency="USD",
                full=False,
                pattern_ids=[sale["order"].items.get(pattern__creator=sale["ben"]).pattern_id],
            )
        )
    outbox_drain()
    to_ana = {d.event_type: _body(d)["data"] for d in Delivery.objects.filter(endpoint=ana_endpoint)}
    to_ben = {d.event_type: _body(d)["data"] for d in Delivery.objects.filter(endpoint=ben_endpoint)}
    assert to_ana == {
        "pattern.published": {
            "pattern_id": pattern.pk,
            "title": "Ana's planter",
            "reason": "Looks great",
            "republished": False,
        },
        "pattern.rejected": {
            "pattern_id": pattern.pk,
            "title": "Ana's planter",
            "reason": "Blurry",
            "reason_code": "img",
        },
        "payout.paid": {"payout_id": 9, "amount": 616, "currency": "USD"},
    }
    assert list(to_ben) == ["order.refunded"]
    assert to_ben["order.refunded"]["items"] == [
        {
            "pattern_id": to_ben["order.refunded"]["items"][0]["pattern_id"],
            "title": "Ben's coaster",
            "licence": "personal",
            "price": 300,
        }
    ]
    assert Delivery.objects.filter(endpoint=disabled).count() == 0
