"""The issue's "done when": a creator's endpoint on this machine receives ``order.paid`` when their pattern sells
through the real checkout (localstripe, its signed webhook, a real worker draining the outbox and sending on the
webhooks queue), signed, and retried after a failure with the same ``webhook-id``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from marketplace import devserver
from marketplace.events.models import EventRecord
from payments import services, stripe_gateway
from tests.conftest import token_client, wait_for
from tests.factories import PatternFactory, UserFactory
from tests.webhooks.conftest import Receiver, Reply
from webhooks.models import Delivery

pytestmark = pytest.mark.e2e


def test_a_real_sale_reaches_the_creators_endpoint_signed_and_retried_with_the_same_id(
    live_server: Any, celery_worker_process: Any, localstripe: str, receiver: Receiver
) -> None:
    devserver.register_localstripe_webhook(
        port=settings.LOCALSTRIPE_PORT,
        url=f"{live_server.url}/api/v1/stripe/webhook/",
        secret=settings.STRIPE_WEBHOOK_SECRET,
    )
    creator, other_creator = UserFactory.create(username="mira"), UserFactory.create(username="other")
    buyer = UserFactory.create(username="buyer_hook", email="buyer.private@example.com")
    endpoint = (
        token_client(creator)
        .post("/api/v1/webhooks/endpoints/", {"url": receiver.url, "events": ["order.paid"]}, format="json")
        .json()
    )
    receiver.script(Reply(status=503, body=b"deploying"), Reply(status=204))
    mine = PatternFactory.create(creator=creator, title="Hex planter", price=900)
    theirs = PatternFactory.create(creator=other_creator, title="Someone else's lamp", price=500)

    order = services.order_create(buyer=buyer, pattern_ids=[mine.pk, theirs.pk])
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    intent = stripe_gateway.payment_intent_confirm_test_card(
        payment_intent_id=str(order.stripe_payment_intent_id), card=card
    )
    assert intent.status == "succeeded"

    refused, accepted = receiver.wait_for(2, timeout=90)
    paid = EventRecord.objects.get(type="order.paid", subject_id=order.pk)
    assert refused.headers["webhook-id"] == accepted.headers["webhook-id"] == f"msg_{paid.uuid.hex}"
    assert refused.body == accepted.body
    payload = Webhook(endpoint["secret"]).verify(accepted.body, accepted.headers)
    assert payload["type"] == "order.paid"
    data = json.loads(accepted.body)["data"]
    assert data["order_id"] == order.pk
    assert [(item["pattern_id"], item["title"], item["price"]) for item in data["items"]] == [
        (mine.pk, "Hex planter", 900)
    ]
    assert b"buyer.private@example.com" not in accepted.body
    assert b"Someone else" not in accepted.body
    delivery = Delivery.objects.get(endpoint_id=endpoint["id"])
    codes = wait_for(
        lambda: [a.status_code for a in delivery.attempts.order_by("pk")] if delivery.attempts.count() == 2 else None,
        timeout=30,
        what="the second attempt recorded",
    )
    assert codes == [503, 204]
