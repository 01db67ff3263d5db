"""Issue 9, items 1-3: every paid PaymentIntent ends in a terminal order state, early refunds and
disputes are applied once the payment succeeds, and malformed or replayed signed events never answer 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from catalog.models import User
from delivery.models import Entitlement
from payments import ledger, services, stripe_gateway
from payments.models import Dispute, LedgerTransaction, Order, OrderItem, Payment, Refund, WebhookEvent
from tests.conftest import token_client
from tests.factories import OrderFactory, PatternFactory, UserFactory, order_item_add
from tests.payments.test_webhooks import _event, _post, _signed

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _send(client: Any, event_id: str, kind: str, obj: Any) -> Any:
    payload = json.dumps({"id": event_id, "type": kind, "data": {"object": obj}}).encode()
    return _post(client, payload, _signed(payload))


def _outcome(client: Any, event_id: str, kind: str, obj: Any) -> str:
    response = _send(client, event_id, kind, obj)
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def _balances(*creators: User) -> list[int]:
    return [ledger.creator_balance(creator=creator, currency="USD") for creator in creators]


# --- 1. Charged but never served: overlapping orders ------------------------------------------------


def _order_paid_at_stripe(buyer: User, patterns: list[Any]) -> tuple[Order, dict[str, Any]]:
    """An order (made directly, as a race or the dashboard would) whose PaymentIntent localstripe charged."""
    order = OrderFactory.create(buyer=buyer, amount=sum(p.price for p in patterns), stripe_payment_intent_id=None)
    for pattern in patterns:
        order_item_add(order=order, pattern=pattern)
    intent = stripe_gateway.payment_intent_create(
        amount=order.amount, currency="USD", metadata={"order_id": str(order.pk)}, idempotency_key=f"t-{order.pk}"
    )
    order.stripe_payment_intent_id = intent.id
    order.save(update_fields=["stripe_payment_intent_id"])
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    paid = stripe_gateway.payment_intent_confirm_test_card(payment_intent_id=intent.id, card=card)
    assert paid.status == "succeeded"
    return order, _stripe_object("payment_intents", intent.id)


def _stripe_object(kind: str, object_id: str) -> dict[str, Any]:
    """The object as Stripe would put it in an event (a plain dict, ids for expandable fields)."""
    found = getattr(stripe_gateway._client().v1, kind).retrieve(object_id).to_dict()
    if isinstance(found.get("latest_charge"), dict):
        found["latest_charge"] = found["latest_charge"]["id"]
    return found


def test_overlapping_paid_orders_grant_once_and_refund_the_owned_line(client, localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    p1, p2 = PatternFactory.create(price=1000), PatternFactory.create(price=250)
    order_a, intent_a = _order_paid_at_stripe(buyer, [p1])
    order_b, intent_b = _order_paid_at_stripe(buyer, [p1, p2])
    assert _outcome(client, "evt_a", "payment_intent.succeeded", intent_a) == "fulfilled"

    response = _send(client, "evt_b", "payment_intent.succeeded", intent_b)
    assert (response.status_code, response.json()["outcome"]) == (200, "fulfilled-refunded-owned")
    order_b.refresh_from_db()
    assert (order_b.status, order_b.amount_refunded) == ("partially_refunded", 1000)
    assert list(order_b.items.order_by("pk").values_list("already_owned", flat=True)) == [True, False]
    active = Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True)
    assert sorted((e.pattern_id, e.order_item.order_id) for e in active) == sorted(
        [(p1.pk, order_a.pk), (p2.pk, order_b.pk)]
    )
    # Stripe really refunded the owned line, once, and the ledger booked it against that line's creator only.
    refund = Refund.objects.get(order=order_b)
    charge = _stripe_object("charges", intent_b["latest_charge"])
    assert (refund.amount, charge["amount_refunded"]) == (1000, 1000)
    assert [r["id"] for r in charge["refunds"]["data"]] == [refund.stripe_refund_id]
    assert _balances(p1.creator, p2.creator) == [880, 220]
    assert ledger.account_balance(kind="platform_fees", currency="USD") == -150
    assert ledger.account_balance(kind="stripe_balance", currency="USD") == 1000 + 1250 - 1000
    assert ledger.trial_balance() == 0

    # Stripe's charge.refunded for that refund (cumulative 1000) and a redelivered success book nothing more.
    assert _outcome(client, "evt_b_refund", "charge.refunded", charge) == "already-refunded"
    assert _outcome(client, "evt_b2", "payment_intent.succeeded", intent_b) == "already-paid"
    assert Refund.objects.count() == 1
    assert LedgerTransaction.objects.count() == 3  # sale A, sale B, refund of B's owned line

    # Refunding the rest of B later reverses only the delivered line; A's licence is untouched.
    services.order_refund(order=order_b)
    charge = _stripe_object("charges", intent_b["latest_charge"])
    assert _outcome(client, "evt_b_refund2", "charge.refunded", charge) == "refunded"
    order_b.refresh_from_db()
    assert (order_b.status, order_b.amount_refunded) == ("refunded", 1250)
    assert _balances(p1.creator, p2.creator) == [880, 0]
    assert ledger.account_balance(kind="stripe_balance", currency="USD") == 1000
    assert ledger.trial_balance() == 0
    assert list(Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True).values_list("pattern", flat=True)) == [
        p1.pk
    ]


def test_an_order_of_only_owned_lines_is_refunded_whole(client, localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=600)
    order_a, intent_a = _order_paid_at_stripe(buyer, [pattern])
    order_b, intent_b = _order_paid_at_stripe(buyer, [pattern])
    assert _outcome(client, "evt_a", "payment_intent.succeeded", intent_a) == "fulfilled"
    assert _outcome(client, "evt_b", "payment_intent.succeeded", intent_b) == "refunded-owned"
    order_b.refresh_from_db()
    assert (order_b.status, order_b.amount_refunded) == ("refunded", 600)
    assert _stripe_object("charges", intent_b["latest_charge"])["amount_refunded"] == 600
    assert Entitlement.objects.filter(order_item__order=order_b).count() == 0
    assert _balances(pattern.creator) == [528]
    assert ledger.account_balance(kind="stripe_balance", currency="USD") == 600
    assert ledger.trial_balance() == 0


def test_stripe_unreachable_while_refunding_answers_503_saves_nothing_and_the_retry_refunds_once(  # type: ignore[no-untyped-def]
    client, localstripe, settings
) -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=600)
    _order_a, intent_a = _order_paid_at_stripe(buyer, [pattern])
    order_b, intent_b = _order_paid_at_stripe(buyer, [pattern, PatternFactory.create(price=400)])
    assert _outcome(client, "evt_a", "payment_intent.succeeded", intent_a) == "fulfilled"
    api_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # a real outage: nothing listens there
    response = _send(client, "evt_b", "payment_intent.succeeded", intent_b)
    assert (response.status_code, response["Retry-After"]) == (503, "60")
    order_b.refresh_from_db()
    assert (order_b.status, order_b.paid_at) == ("pending", None)
    assert not WebhookEvent.objects.filter(stripe_event_id="evt_b").exists()
    assert Entitlement.objects.filter(order_item__order=order_b).count() == 0
    assert LedgerTransaction.objects.filter(order=order_b).count() == 0
    settings.STRIPE_API_BASE = api_base
    assert _outcome(client, "evt_b", "payment_intent.succeeded", intent_b) == "fulfilled-refunded-owned"
    charge = _stripe_object("charges", intent_b["latest_charge"])
    assert (charge["amount_refunded"], len(charge["refunds"]["data"])) == (600, 1)
    assert ledger.trial_balance() == 0


def test_a_replaced_order_cannot_be_paid_on_its_old_checkout_page(client, localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    p1, p2 = PatternFactory.create(price=300), PatternFactory.create(price=300)
    api = token_client(buyer)
    first = api.post("/api/v1/orders/", {"pattern_ids": [p1.pk]}, format="json").json()
    second = api.post("/api/v1/orders/", {"pattern_ids": [p1.pk, p2.pk]}, format="json").json()
    client.force_login(buyer)
    card = {"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}
    response = client.post(
        f"/checkout/{first['id']}/confirm-local/", json.dumps({"card": card}), content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["error"].startswith(f"Replaced by order #{second['id']}.")
    assert Order.objects.get(pk=first["id"]).paid_at is None


def test_a_newer_checkout_cancels_the_older_pending_order_sharing_a_pattern(localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    p1, p2, p3 = (PatternFactory.create(price=300) for _ in range(3))
    api = token_client(buyer)
    first = api.post("/api/v1/orders/", {"pattern_ids": [p1.pk]}, format="json").json()
    unrelated = api.post("/api/v1/orders/", {"pattern_ids": [p3.pk]}, format="json").json()
    second = api.post("/api/v1/orders/", {"pattern_ids": [p1.pk, p2.pk]}, format="json").json()
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {first["id"]: "cancelled", unrelated["id"]: "pending", second["id"]: "pending"}
    assert Order.objects.get(pk=first["id"]).failure_reason == f"Replaced by order #{second['id']}."
    # The replaced order's PaymentIntent can no longer be paid.
    old_intent = Order.objects.get(pk=first["id"]).stripe_payment_intent_id
    assert stripe_gateway.payment_intent_retrieve(payment_intent_id=str(old_intent)).status == "canceled"


# --- 2. Early refunds and disputes ------------------------------------------------------------------


def _pending_order() -> tuple[Order, list[User]]:
    order = OrderFactory.create(amount=1250)
    patterns = [PatternFactory.create(price=1000), PatternFactory.create(price=250)]
    for pattern in patterns:
        order_item_add(order=order, pattern=pattern)
    return order, [p.creator for p in patterns]


def _refund(order: Order, refunded: int) -> dict[str, Any]:
    return {
        "id": "ch_1",
        "object": "charge",
        "amount": order.amount,
        "amount_refunded": refunded,
        "payment_intent": order.stripe_payment_intent_id,
        "refunds": {"data": [{"id": "re_1"}]},
    }


def _dispute(order: Order, status: str = "needs_response") -> dict[str, Any]:
    return {
        "id": "dp_1",
        "object": "dispute",
        "amount": order.amount,
        "currency": "usd",
        "charge": "ch_1",
        "payment_intent": order.stripe_payment_intent_id,
        "reason": "fraudulent",
        "status": status,
    }


# Each case: the non-success events, then the state they must leave whether they arrive before or after
# the success: order status, amount refunded, creator balances, active entitlements, revoked reason.
CASES = {
    "full-refund": (lambda o: [("charge.refunded", _refund(o, 1250))], ("refunded", 1250, [0, 0], 0, "refunded")),
    "partial-refund": (
        lambda o: [("charge.refunded", _refund(o, 500))],
        ("partially_refunded", 500, [880 - 352, 220 - 88], 2, ""),
    ),
    "dispute": (lambda o: [("charge.dispute.created", _dispute(o))], ("disputed", 0, [0, 0], 0, "disputed")),
    "dispute-closed-first": (
        lambda o: [("charge.dispute.closed", _dispute(o, "won")), ("charge.dispute.created", _dispute(o))],
        ("paid", 0, [880, 220], 2, ""),
    ),
}


@pytest.mark.parametrize("success_first", [True, False], ids=["success-first", "success-last"])
@pytest.mark.parametrize("case", list(CASES))
def test_refunds_and_disputes_apply_whichever_arrives_first(client, case: str, success_first: bool) -> None:  # type: ignore[no-untyped-def]
    order, creators = _pending_order()
    events, (status, refunded, balances, active, reason) = CASES[case]
    success = ("payment_intent.succeeded", json.loads(_event(order, amount=1250))["data"]["object"])
    sequence = [success, *events(order)] if success_first else [*events(order), success]
    outcomes = [_outcome(client, f"evt_{n}", kind, obj) for n, (kind, obj) in enumerate(sequence)]
    if not success_first:
        assert outcomes[:-1] == ["deferred"] * len(events(order))
        assert outcomes[-1] == "fulfilled"
        assert WebhookEvent.objects.exclude(waiting_for="").count() == 0
        assert all(
            o.startswith("replayed:")
            for o in WebhookEvent.objects.exclude(type=success[0]).values_list("outcome", flat=True)
        )
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (status, refunded)
    assert _balances(*creators) == balances
    assert ledger.trial_balance() == 0
    assert Entitlement.objects.filter(revoked_at__isnull=True).count() == active
    if reason:
        assert set(Entitlement.objects.values_list("revoked_reason", flat=True)) == {reason}
    assert Payment.objects.count() == 1
    assert Refund.objects.count() == (1 if refunded else 0)
    assert Dispute.objects.count() == (1 if "dispute" in case else 0)


# --- 3. Malformed, replayed and future events; failed orders; production settings ------------------


@pytest.mark.parametrize(
    "body",
    [
        {"id": "evt_x", "type": "payment_intent.succeeded"},
        {"id": "evt_x", "type": "payment_intent.succeeded", "data": "nope"},
        {"id": "evt_x", "type": "charge.refunded", "data": {"object": "ch_1"}},
        {"id": "evt_x", "type": "charge.refunded", "data": {"object": ["ch_1"]}},
        {"id": "evt_x", "type": "account.updated", "data": {}},
        {"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {"id": "P"}}},
        {"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {"id": "P", "amount": "x"}}},
        {"id": 7, "type": ["charge.refunded"], "data": {"object": {}}},
    ],
)
def test_signed_malformed_events_are_refused_with_400_and_save_nothing(client, body: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    order = OrderFactory.create(amount=750, stripe_payment_intent_id="P")
    order_item_add(order=order, pattern=PatternFactory.create(price=750))
    payload = json.dumps(body).encode()
    response = _post(client, payload, _signed(payload))
    assert response.status_code == 400
    assert response.json()["error"] == "malformed event"
    assert WebhookEvent.objects.count() == 0
    order.refresh_from_db()
    assert order.status == "pending"


def test_a_kept_event_that_cannot_be_applied_does_not_block_the_payment(client) -> None:  # type: ignore[no-untyped-def]
    order, creators = _pending_order()
    broken = {**_refund(order, 1250), "refunds": ["re_1"]}
    assert _outcome(client, "evt_1", "charge.refunded", broken) == "deferred"
    intent = json.loads(_event(order, amount=1250))["data"]["object"]
    assert _outcome(client, "evt_2", "payment_intent.succeeded", intent) == "fulfilled"
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("paid", 0)
    assert WebhookEvent.objects.get(stripe_event_id="evt_1").outcome == "replayed:malformed"
    assert _balances(*creators) == [880, 220]
    assert ledger.trial_balance() == 0


def test_a_second_success_for_a_refunded_order_changes_nothing(client) -> None:  # type: ignore[no-untyped-def]
    order, _creators = _pending_order()
    intent = json.loads(_event(order, amount=1250))["data"]["object"]
    assert _outcome(client, "evt_1", "payment_intent.succeeded", intent) == "fulfilled"
    assert _outcome(client, "evt_2", "charge.refunded", _refund(order, 1250)) == "refunded"
    assert _outcome(client, "evt_3", "payment_intent.succeeded", intent) == "already-paid"
    order.refresh_from_db()
    assert order.status == "refunded"
    assert Payment.objects.count() == 1
    assert Entitlement.objects.filter(revoked_at__isnull=True).count() == 0


def test_timestamps_beyond_the_tolerance_in_the_future_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    order, _creators = _pending_order()
    payload = _event(order, amount=1250)
    assert _post(client, payload, _signed(payload, timestamp=int(time.time()) + 3600)).status_code == 400
    assert _post(client, payload, _signed(payload, timestamp=int(time.time()) + 301)).status_code == 400
    assert WebhookEvent.objects.count() == 0
    ok = _post(client, payload, _signed(payload, timestamp=int(time.time()) + 30))
    assert (ok.status_code, ok.json()["outcome"]) == (200, "fulfilled")


def test_a_payment_of_another_amount_is_refunded_in_full_and_never_fulfilled(client, localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    order, intent = _order_paid_at_stripe(buyer, [PatternFactory.create(price=1000), PatternFactory.create(price=250)])
    # The order's total no longer matches what the buyer was charged (1250).
    Order.objects.filter(pk=order.pk).update(amount=1300)
    assert _outcome(client, "evt_1", "payment_intent.succeeded", intent) == "amount-mismatch"
    order.refresh_from_db()
    assert (order.status, order.paid_at) == ("failed", None)
    assert order.failure_reason == ("The amount paid does not match the order total; the payment was refunded in full.")
    refund = Refund.objects.get(order=order)
    charge = _stripe_object("charges", intent["latest_charge"])
    assert (refund.amount, refund.currency, charge["amount_refunded"]) == (1250, "USD", 1250)
    assert [r["id"] for r in charge["refunds"]["data"]] == [refund.stripe_refund_id]
    # Stripe's charge.refunded, and a later success even with a matching amount, change nothing.
    assert _outcome(client, "evt_2", "charge.refunded", charge) == "not-paid"
    Order.objects.filter(pk=order.pk).update(amount=1250)
    assert _outcome(client, "evt_3", "payment_intent.succeeded", intent) == "order-failed"
    order.refresh_from_db()
    assert (order.status, order.paid_at) == ("failed", None)
    assert Refund.objects.count() == 1
    assert _stripe_object("charges", intent["latest_charge"])["amount_refunded"] == 1250
    assert Entitlement.objects.count() == 0
    assert Payment.objects.count() == 0
    assert LedgerTransaction.objects.count() == 0
    assert not OrderItem.objects.filter(already_owned=True).exists()


_PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
    "DJANGO_SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://u:p@db.internal:5432/tessera",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "DJANGO_ALLOWED_HOSTS": "tessera.example",
    "SITE_URL": "https://tessera.example",
    # The authorship log's key and name, required in production since issue 14.
    "TESSERA_PROVENANCE_SIGNING_KEY": "cHJvdmVuYW5jZS10ZXN0LW9ubHktMzItYnl0ZXMtISE=",
    "TESSERA_PROVENANCE_ORIGIN": "tessera.example/provenance",
}
_PROBE = """
import django
from django.conf import settings
from django.http import Http404
from django.test import RequestFactory
django.setup()
from catalog.models import User
from payments import stripe_gateway, views
s = settings
print(s.STRIPE_USES_LOCALSTRIPE, s.STRIPE_API_BASE, s.STRIPE_WEBHOOK_SECRET, s.STRIPE_JS_URL)
request = RequestFactory().post("/checkout/1/confirm-local/")
request.user = User(pk=1, username="b")
try:
    views.checkout_confirm_local(request, pk=1)
except Http404:
    print("confirm-local 404")
try:
    stripe_gateway.payment_intent_confirm_test_card(payment_intent_id="pi_1", card={})
except RuntimeError:
    print("raw cards refused")
"""


def _production(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE], env={**_PRODUCTION_ENV, **extra}, cwd=ROOT, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"STRIPE_SECRET_KEY": "sk_live_1"},
        {"STRIPE_WEBHOOK_SECRET": "whsec_real"},
        {"STRIPE_SECRET_KEY": "sk_live_1", "STRIPE_WEBHOOK_SECRET": "whsec_localstripe"},
        {"STRIPE_SECRET_KEY": "sk_test_localstripe", "STRIPE_WEBHOOK_SECRET": "whsec_real"},
    ],
)
def test_production_refuses_to_start_without_real_stripe_secrets(extra: dict[str, str]) -> None:
    result = _production(extra)
    assert result.returncode == 1
    assert "ImproperlyConfigured" in result.stderr
    assert "STRIPE" in result.stderr or "emulator" in result.stderr


def test_production_with_real_secrets_never_uses_the_emulator() -> None:
    result = _production({"STRIPE_SECRET_KEY": "sk_live_1", "STRIPE_WEBHOOK_SECRET": "whsec_real"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "False https://api.stripe.com whsec_real https://js.stripe.com/v3/",
        "confirm-local 404",
        "raw cards refused",
    ]
