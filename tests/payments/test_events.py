"""Issue 11: payments records its events (order.created/paid/refunded/disputed, payout.paid/failed) in the
transaction of each change, exactly once and with its actor; delivery's inline handlers keep the entitlements in
step; payments imports neither delivery nor analytics."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from catalog.models import User
from delivery.models import Entitlement
from marketplace.events.models import EventRecord
from payments import payouts, services
from payments.models import Order, PayoutAccount, WebhookEvent
from tests.conftest import token_client
from tests.factories import OrderFactory, PatternFactory, StaffFactory, UserFactory, order_item_add
from tests.payments.test_overlap_and_early_events import _order_paid_at_stripe, _stripe_object
from tests.payments.test_payouts import _onboard, _sale
from tests.payments.test_refunds_disputes import _refund_event, _send
from tests.payments.test_webhooks import _event, _post, _signed

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _events(*types: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    """(type, actor username or None, data) of the recorded events of these types, in order."""
    rows = EventRecord.objects.filter(type__in=types).order_by("id")
    return [(r.type, r.actor_username or None, r.data) for r in rows]


def _types() -> list[str]:
    return list(EventRecord.objects.order_by("id").values_list("type", flat=True))


def _unpaid_order(*prices: int, buyer: User | None = None) -> Order:
    order = OrderFactory.create(amount=sum(prices), **({"buyer": buyer} if buyer else {}))
    for price in prices:
        order_item_add(order=order, pattern=PatternFactory.create(price=price))
    return order


def _succeeded(client: Any, order: Order, event_id: str) -> str:
    payload = _event(order, amount=order.amount, event_id=event_id)
    response = _post(client, payload, _signed(payload))
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def test_a_free_claim_records_created_paid_and_granted_once_with_the_buyer_as_actor() -> None:
    buyer = UserFactory.create(username="fern")
    pattern = PatternFactory.create(price=0)
    order, created = services.pattern_claim_free(buyer=buyer, pattern_id=pattern.pk)
    assert created
    assert order is not None
    item = order.items.get()
    entitlement = Entitlement.objects.get(buyer=buyer, pattern=pattern)
    assert _events("order.created", "order.paid", "entitlement.granted") == [
        (
            "order.created",
            "fern",
            {"order_id": order.pk, "buyer_id": buyer.pk, "total": 0, "currency": "USD", "pattern_ids": [pattern.pk]},
        ),
        (
            "order.paid",
            "fern",
            {
                "order_id": order.pk,
                "buyer_id": buyer.pk,
                "total": 0,
                "currency": "USD",
                "items": [
                    {
                        "item_id": item.pk,
                        "pattern_id": pattern.pk,
                        "creator_id": pattern.creator_id,
                        "licence": pattern.licence.code,
                        "price": 0,
                    }
                ],
            },
        ),
        (
            "entitlement.granted",
            "fern",
            {"entitlement_id": entitlement.pk, "buyer_id": buyer.pk, "pattern_id": pattern.pk, "order_id": order.pk},
        ),
    ]
    # A second click changes nothing and records nothing.
    assert services.pattern_claim_free(buyer=buyer, pattern_id=pattern.pk) == (None, False)
    assert EventRecord.objects.count() == 3


def test_a_paid_webhook_records_order_paid_once_however_often_or_late_it_is_replayed(client) -> None:  # type: ignore[no-untyped-def]
    order = _unpaid_order(1000, 250)
    assert _succeeded(client, order, "evt_paid") == "fulfilled"
    assert _succeeded(client, order, "evt_paid") == "duplicate"  # the same delivery again
    assert _succeeded(client, order, "evt_paid_retry") == "already-paid"  # another id for the same payment
    paid = _events("order.paid")
    assert len(paid) == 1
    event_type, actor, data = paid[0]
    assert (actor, data["total"], [i["price"] for i in data["items"]]) == (None, 1250, [1000, 250])
    entitlements = list(Entitlement.objects.filter(order_item__order=order).order_by("pk"))
    assert len(entitlements) == 2
    assert [d["entitlement_id"] for _t, _a, d in _events("entitlement.granted")] == [e.pk for e in entitlements]
    assert WebhookEvent.objects.count() == 2


def test_a_refund_that_arrives_before_the_payment_records_paid_then_refunded_once(client) -> None:  # type: ignore[no-untyped-def]
    order = _unpaid_order(800)
    refund = _refund_event(order, 800, ["re_early"])
    assert _send(client, "evt_refund_early", "charge.refunded", refund) == "deferred"
    assert _types() == []
    assert _succeeded(client, order, "evt_pay_late") == "fulfilled"
    # The stored refund was applied after the payment, in its transaction: granted, then revoked.
    assert _types() == ["order.paid", "entitlement.granted", "order.refunded", "entitlement.revoked"]
    assert _events("order.refunded")[0][2] == {
        "order_id": order.pk,
        "buyer_id": order.buyer_id,
        "amount": 800,
        "currency": "USD",
        "full": True,
        "reason": "",
        "pattern_ids": [order.items.get().pattern_id],
    }
    assert _send(client, "evt_refund_again", "charge.refunded", refund) == "already-refunded"
    assert _succeeded(client, order, "evt_pay_again") == "already-paid"
    assert len(_types()) == 4
    assert Entitlement.objects.get().revoked_reason == "refunded"


def test_a_partial_refund_records_order_refunded_and_keeps_the_entitlement(client) -> None:  # type: ignore[no-untyped-def]
    order = _unpaid_order(1000)
    _succeeded(client, order, "evt_pay")
    assert _send(client, "evt_part", "charge.refunded", _refund_event(order, 300, ["re_p"])) == "partially-refunded"
    assert [(t, d["amount"], d["full"]) for t, _a, d in _events("order.refunded")] == [("order.refunded", 300, False)]
    assert _events("entitlement.revoked") == []
    assert Entitlement.objects.get().revoked_at is None


def test_staff_refund_through_the_api_records_the_staff_member_as_actor(client, localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    staff_member = StaffFactory.create(username="rhea")
    order, intent = _order_paid_at_stripe(buyer, [PatternFactory.create(price=600)])
    assert _outcome_of(client, "evt_pi", "payment_intent.succeeded", intent) == "fulfilled"
    response = token_client(staff_member).post(f"/api/v1/orders/{order.pk}/refund/", {}, format="json")
    assert response.status_code == 202, response.content
    # Nothing is booked until Stripe confirms; then the refund's metadata names who asked.
    assert _events("order.refunded") == []
    charge = _stripe_object("charges", intent["latest_charge"])
    assert _outcome_of(client, "evt_ch_refunded", "charge.refunded", charge) == "refunded"
    [(_type, actor, data)] = _events("order.refunded")
    assert (actor, data["amount"], data["full"]) == ("rhea", 600, True)
    [(_type, revoked_by, revoked)] = _events("entitlement.revoked")
    assert (revoked_by, revoked["reason"]) == ("rhea", "refunded")


def _outcome_of(client: Any, event_id: str, kind: str, obj: Any) -> str:
    payload = json.dumps({"id": event_id, "type": kind, "data": {"object": obj}}).encode()
    response = _post(client, payload, _signed(payload))
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def test_lines_already_owned_are_refunded_with_an_order_refunded_event_by_no_one(client, localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create()
    p1, p2 = PatternFactory.create(price=1000), PatternFactory.create(price=250)
    order_a, intent_a = _order_paid_at_stripe(buyer, [p1])
    order_b, intent_b = _order_paid_at_stripe(buyer, [p1, p2])
    assert _outcome_of(client, "evt_a", "payment_intent.succeeded", intent_a) == "fulfilled"
    assert _outcome_of(client, "evt_b", "payment_intent.succeeded", intent_b) == "fulfilled-refunded-owned"
    paid = {d["order_id"]: [i["pattern_id"] for i in d["items"]] for _t, _a, d in _events("order.paid")}
    assert paid == {order_a.pk: [p1.pk], order_b.pk: [p2.pk]}  # the owned line is not sold twice
    [(_type, actor, data)] = _events("order.refunded")
    assert (actor, data["order_id"], data["amount"], data["full"], data["pattern_ids"]) == (
        None,
        order_b.pk,
        1000,
        False,
        [p1.pk],
    )
    assert Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True).count() == 2


def test_disputes_record_opened_then_won_or_lost_once_and_entitlements_follow(client) -> None:  # type: ignore[no-untyped-def]
    won, lost = _unpaid_order(500), _unpaid_order(700)
    _succeeded(client, won, "evt_w")
    _succeeded(client, lost, "evt_l")
    for order, name in ((won, "won"), (lost, "lost")):
        dispute = {"id": f"dp_{name}", "amount": order.amount, "currency": "usd", "reason": "fraudulent"}
        dispute["payment_intent"] = order.stripe_payment_intent_id
        assert _send(client, f"evt_{name}_1", "charge.dispute.created", dispute) == "disputed"
        assert _send(client, f"evt_{name}_1b", "charge.dispute.created", dispute) == "already-recorded"
        assert _send(client, f"evt_{name}_2", "charge.dispute.closed", {**dispute, "status": name}) == f"dispute-{name}"
        assert _send(client, f"evt_{name}_3", "charge.dispute.closed", {**dispute, "status": name}) == "already-closed"
    disputed = [(d["order_id"], d["status"], d["amount"], d["reason"], a) for _t, a, d in _events("order.disputed")]
    assert disputed == [
        (won.pk, "opened", 500, "fraudulent", None),
        (won.pk, "won", 500, "fraudulent", None),
        (lost.pk, "opened", 700, "fraudulent", None),
        (lost.pk, "lost", 700, "fraudulent", None),
    ]
    won_entitlement = Entitlement.objects.get(order_item__order=won)
    lost_entitlement = Entitlement.objects.get(order_item__order=lost)
    assert (won_entitlement.revoked_at, lost_entitlement.revoked_reason) == (None, "disputed")
    assert [d["entitlement_id"] for _t, _a, d in _events("entitlement.revoked")] == [
        won_entitlement.pk,
        lost_entitlement.pk,
    ]
    # The won dispute gives the entitlement back: granted again.
    granted = [d["entitlement_id"] for _t, _a, d in _events("entitlement.granted")]
    assert granted == [won_entitlement.pk, lost_entitlement.pk, won_entitlement.pk]


def test_a_fulfilment_that_fails_after_order_paid_leaves_no_event_and_no_entitlement(client) -> None:  # type: ignore[no-untyped-def]
    order = _unpaid_order(900)
    item = order.items.get()
    # Delivery already holds an active entitlement for this buyer and pattern that payments does not know of (an
    # unpaid order's line): granting a second breaks the one-active-entitlement constraint after order.paid.
    stray = OrderFactory.create(buyer=order.buyer, amount=900)
    stray_item = order_item_add(order=stray, pattern=item.pattern)
    blocker = Entitlement.objects.create(buyer=order.buyer, pattern=item.pattern, order_item=stray_item)
    payload = _event(order, amount=900, event_id="evt_fails")
    with pytest.raises(IntegrityError):
        services.webhook_handle(payload=payload, signature_header=_signed(payload))
    order.refresh_from_db()
    assert (order.status, order.paid_at) == ("pending", None)
    assert EventRecord.objects.count() == 0
    assert not Entitlement.objects.filter(order_item=item).exists()
    assert not WebhookEvent.objects.exists()  # Stripe's redelivery is applied in full
    blocker.delete()
    assert _succeeded(client, order, "evt_fails") == "fulfilled"
    assert [(t, d["order_id"]) for t, _a, d in _events("order.paid")] == [("order.paid", order.pk)]
    assert Entitlement.objects.filter(order_item=item, revoked_at__isnull=True).count() == 1


def test_entitlements_exist_in_the_transaction_that_records_order_paid_and_roll_back_with_it() -> None:
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=0)

    class Abandon(Exception):
        pass

    def claim_then_abandon() -> None:
        with transaction.atomic():
            order, _ = services.pattern_claim_free(buyer=buyer, pattern_id=pattern.pk)
            assert order is not None
            # Nothing is committed yet, and both are there: the inline handler ran inside record().
            assert EventRecord.objects.filter(type="order.paid", subject_id=order.pk).count() == 1
            assert Entitlement.objects.filter(order_item__order=order, revoked_at__isnull=True).count() == 1
            raise Abandon

    with pytest.raises(Abandon):
        claim_then_abandon()
    assert EventRecord.objects.count() == 0
    assert Entitlement.objects.count() == 0
    assert Order.objects.count() == 0


def test_order_create_records_order_created_by_the_buyer(localstripe) -> None:  # type: ignore[no-untyped-def]
    buyer = UserFactory.create(username="gus")
    patterns = [PatternFactory.create(price=400), PatternFactory.create(price=600)]
    order = services.order_create(buyer=buyer, pattern_ids=[p.pk for p in patterns])
    again = services.order_create(buyer=buyer, pattern_ids=[p.pk for p in patterns])  # a double click
    assert again.pk == order.pk
    assert _events("order.created") == [
        (
            "order.created",
            "gus",
            {
                "order_id": order.pk,
                "buyer_id": buyer.pk,
                "total": 1000,
                "currency": "USD",
                "pattern_ids": [p.pk for p in patterns],
            },
        )
    ]
    assert _events("order.paid") == []


def test_a_buyer_who_holds_a_pattern_by_payments_own_books_cannot_order_it_again(client) -> None:  # type: ignore[no-untyped-def]
    order = _unpaid_order(500)
    pattern_id = order.items.get().pattern_id
    _succeeded(client, order, "evt_own")
    with pytest.raises(services.ValidationError, match="already own"):
        services.order_create(buyer=order.buyer, pattern_ids=[pattern_id])
    _send(client, "evt_own_refund", "charge.refunded", _refund_event(order, 500, ["re_own"]))
    # Fully refunded: no longer held, neither in payments' books nor in delivery.
    from payments.selectors import patterns_held

    assert patterns_held(buyer=order.buyer, pattern_ids=[pattern_id]) == set()
    assert not Entitlement.objects.filter(buyer=order.buyer, revoked_at__isnull=True).exists()


def test_payouts_record_paid_and_failed_once(localstripe: str, settings: Any) -> None:
    settings.TESSERA_PAYOUT_HOLD_DAYS = 0
    settings.TESSERA_PAYOUT_MINIMUM = 100
    paid_creator, failing_creator = UserFactory.create(), UserFactory.create()
    _sale(paid_creator, 1000)
    _sale(failing_creator, 500)
    _onboard(paid_creator)
    payouts.payout_account_onboarding_link(creator=failing_creator, refresh_url="http://x/", return_url="http://x/")
    PayoutAccount.objects.filter(creator=failing_creator).update(payouts_enabled=True)  # Stripe disagrees
    made = {payout.creator_id: payout for payout in payouts.payouts_run()}
    for payout in made.values():
        payouts.payout_send(payout_id=payout.pk)
        payouts.payout_send(payout_id=payout.pk)  # a retried task records nothing more
    good, bad = made[paid_creator.pk], made[failing_creator.pk]
    assert _events("payout.paid") == [
        ("payout.paid", None, {"payout_id": good.pk, "creator_id": paid_creator.pk, "amount": 880, "currency": "USD"})
    ]
    [(_type, actor, failed)] = _events("payout.failed")
    assert (actor, failed["payout_id"], failed["creator_id"], failed["amount"]) == (
        None,
        bad.pk,
        failing_creator.pk,
        440,
    )
    assert "onboarding" in failed["reason"]


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("app", "forbidden"), [("payments", ("delivery", "analytics")), ("delivery", ("analytics",))])
def test_producers_never_import_their_consumers(app: str, forbidden: tuple[str, ...]) -> None:
    offending = sorted(
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / app).rglob("*.py")
        for module in _imported_modules(path)
        if module.split(".")[0] in forbidden
    )
    assert offending == []


def test_staff_cannot_change_money_or_access_records_in_admin_forms_only_through_services(client, staff) -> None:  # type: ignore[no-untyped-def]
    """Every change to an order, payout or entitlement goes through a service that records its actor; the admin
    forms show them read-only (a refund has its own page)."""
    order = _unpaid_order(500)
    _succeeded(client, order, "evt_admin")
    entitlement = Entitlement.objects.get()
    client.force_login(staff)
    for url in (
        f"/admin/payments/order/{order.pk}/change/",
        f"/admin/delivery/entitlement/{entitlement.pk}/change/",
        f"/admin/payments/payment/{order.payments.get().pk}/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'name="_save"' not in page.content.decode(), url
    item = order.items.get()
    form = {"status": "refunded", "buyer": order.buyer_id, "currency": "USD", "failure_reason": ""}
    lines = {"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "1", "items-0-id": item.pk, "items-0-order": order.pk}
    response = client.post(f"/admin/payments/order/{order.pk}/change/", {**form, **lines})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "paid"
    client.post(f"/admin/delivery/entitlement/{entitlement.pk}/change/", {"revoked_reason": "staff said so"})
    client.post(f"/admin/payments/order/{order.pk}/delete/", {"post": "yes"})
    entitlement.refresh_from_db()
    assert (entitlement.revoked_at, entitlement.revoked_reason) == (None, "")
    assert Order.objects.filter(pk=order.pk).exists()
    assert _types() == ["order.paid", "entitlement.granted"]


def test_an_order_refunded_in_full_for_owned_lines_agrees_with_delivery(client, localstripe) -> None:  # type: ignore[no-untyped-def]
    """Lines already owned are refunded; when that is the whole total (the rest was free) the order is refunded
    in full, so its free line is revoked too: payments' own books and delivery agree on what the buyer holds."""
    from payments.selectors import patterns_held

    buyer = UserFactory.create()
    paid, free = PatternFactory.create(price=700), PatternFactory.create(price=0)
    order_a, intent_a = _order_paid_at_stripe(buyer, [paid])
    order_b, intent_b = _order_paid_at_stripe(buyer, [free, paid])
    assert _outcome_of(client, "evt_a", "payment_intent.succeeded", intent_a) == "fulfilled"
    assert _outcome_of(client, "evt_b", "payment_intent.succeeded", intent_b) == "refunded-owned"
    [(_type, _actor, refunded)] = _events("order.refunded")
    assert (refunded["order_id"], refunded["amount"], refunded["full"]) == (order_b.pk, 700, True)
    active = set(Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True).values_list("pattern_id", flat=True))
    assert active == patterns_held(buyer=buyer, pattern_ids=[paid.pk, free.pk]) == {paid.pk}
    _claimed, created = services.pattern_claim_free(buyer=buyer, pattern_id=free.pk)
    assert created
    assert Entitlement.objects.filter(buyer=buyer, pattern=free, revoked_at__isnull=True).count() == 1
