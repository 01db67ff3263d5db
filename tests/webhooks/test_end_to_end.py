"""End to end with real Celery workers: an event recorded in a transaction reaches a creator's receiver on this
machine through the outbox (events queue) and the webhooks queue, signed, retried with the same id, disabled by
410, replayed; and one slow endpoint holds at most its share of the workers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from marketplace.events import record
from marketplace.events.models import HandlerReceipt
from payments.events import OrderPaid
from payments.models import Order
from payments.services import order_paid_event
from tests.conftest import token_client, wait_for
from tests.factories import OrderFactory, PatternFactory, UserFactory, order_item_add
from tests.webhooks.conftest import Receiver, Reply
from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.e2e


def _order_paid(order: Order) -> OrderPaid:
    """The event payments records for the paid order, as a free order's buyer would set it off."""
    return order_paid_event(order=order, actor_id=order.buyer_id)


def _sale(creator: Any, other: Any, buyer: Any) -> Order:
    order = OrderFactory.create(buyer=buyer, amount=1200, status=Order.Status.PAID)
    order_item_add(order=order, pattern=PatternFactory.create(creator=creator, title="Hex planter", with_file=False))
    order_item_add(order=order, pattern=PatternFactory.create(creator=other, title="Not yours", with_file=False))
    return order


def test_order_paid_reaches_the_creator_signed_retried_with_the_same_id_disabled_by_410_and_replayed(
    celery_worker_process: Any, receiver: Receiver
) -> None:
    creator, other = UserFactory.create(), UserFactory.create()
    buyer = UserFactory.create(email="buyer.secret@example.com")
    client = token_client(creator)
    created = client.post(
        "/api/v1/webhooks/endpoints/", {"url": receiver.url, "events": ["order.paid"]}, format="json"
    ).json()
    secret = created["secret"]
    receiver.script(Reply(status=500, body=b"not now"), Reply(status=200, body=b"thanks"), Reply(status=410))

    order = _sale(creator, other, buyer)
    event = _order_paid(order)
    with transaction.atomic():
        record(event)

    first, second = receiver.wait_for(2, timeout=60)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{event.event_id.hex}"
    assert first.body == second.body
    assert 4.0 <= second.at - first.at <= 10.0  # the scheduled 5 s (±10 %), not the outbox's own backoff
    for request in (first, second):
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "order.paid"
    data = json.loads(second.body)["data"]
    assert [item["title"] for item in data["items"]] == ["Hex planter"]
    assert "buyer" not in second.body.decode()
    assert "example.com" not in second.body.decode()

    delivery = wait_for(
        lambda: Delivery.objects.filter(status="delivered").first(), timeout=20, what="the delivery to be marked"
    )
    assert [attempt.status_code for attempt in delivery.attempts.order_by("id")] == [500, 200]
    fan_out = HandlerReceipt.objects.get(event__uuid=event.event_id, handler="webhooks.handlers.event_fan_out")
    assert fan_out.status == "done"
    listed = client.get(f"/api/v1/webhooks/endpoints/{created['id']}/deliveries/").json()["results"]
    assert [(row["event"], row["status"], row["status_code"]) for row in listed] == [("order.paid", "delivered", 200)]
    assert listed[0]["response_excerpt"] == "thanks"

    # Replay: the same id and body again; this time the receiver answers 410 Gone.
    replayed = client.post(f"/api/v1/webhooks/endpoints/{created['id']}/deliveries/{delivery.pk}/replay/")
    assert replayed.status_code == 202
    third = receiver.wait_for(3, timeout=30)[2]
    assert third.headers["webhook-id"] == first.headers["webhook-id"]
    assert third.body == first.body
    Webhook(secret).verify(third.body, third.headers)
    endpoint = wait_for(
        lambda: Endpoint.objects.filter(pk=created["id"], status="disabled").first(), timeout=20, what="disabled"
    )
    assert "410" in endpoint.disabled_reason

    # Disabled: a new sale makes no delivery and no request.
    second_sale = _order_paid(_sale(creator, other, buyer))
    with transaction.atomic():
        record(second_sale)
    wait_for(
        lambda: HandlerReceipt.objects.filter(
            event__uuid=second_sale.event_id, handler="webhooks.handlers.event_fan_out", status="done"
        ).exists(),
        timeout=30,
        what="the second fan-out",
    )
    time.sleep(1.0)
    assert len(receiver.requests) == 3
    assert Delivery.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts.count() == 3


def test_a_slow_endpoint_holds_at_most_its_cap_and_never_delays_another(
    settings: Any, threaded_webhooks_worker: Any, make_receiver: Any
) -> None:
    assert settings.TESSERA_WEBHOOK_ENDPOINT_CONCURRENCY == 2
    slow, fast = make_receiver(), make_receiver()
    slow.script(Reply(status=200, delay=2.0))
    owner = UserFactory.create()
    with transaction.atomic():
        slow_endpoint = services.endpoint_create(owner=owner, url=slow.url, events=["order.paid"])
        fast_endpoint = services.endpoint_create(owner=owner, url=fast.url, events=["order.paid"])
        for _ in range(4):
            services.delivery_create_test(endpoint=slow_endpoint)
    slow.wait_for(1, timeout=30)
    with transaction.atomic():
        services.delivery_create_test(endpoint=fast_endpoint)
    [fast_request] = fast.wait_for(1, timeout=10)
    slow_requests = slow.wait_for(4, timeout=30)
    wait_for(lambda: Delivery.objects.filter(status="delivered").count() == 5, timeout=20, what="all delivered")
    assert slow.max_in_flight == 2  # 4 queued, 4 worker threads, 2 slots
    # The fast endpoint was served while the slow one still had requests waiting for a slot.
    assert fast_request.at < max(request.at for request in slow_requests)
    assert fast_request.at - slow_requests[0].at < 2.0
