"""Issue 12's "done when", as a creator and buyers meet it: the payouts gate and the verified-e-mail gate (both
on here, as in production), a licence change that only new sales get, and the creator hearing about approval,
sale and review (followers about a new pattern) through the real services, not recorded events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from catalog.history import describe
from catalog.models import CreatorProfile, Pattern, PatternFile
from community.models import Review
from community.services import follow_set
from delivery.models import Entitlement
from delivery.services import certificate_issue
from marketplace.events.models import EventRecord
from marketplace.events.services import outbox_drain
from notifications.models import Notification
from payments import services as payment_services
from payments import stripe_gateway
from payments.models import Order, PayoutAccount
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory
from tests.notifications.test_notifications import paid_order

pytestmark = pytest.mark.django_db


def _signed(payload: bytes) -> str:
    timestamp = int(time.time())
    secret = settings.STRIPE_WEBHOOK_SECRET
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def _webhook(client: Client, event: dict[str, Any]) -> None:
    payload = json.dumps(event).encode()
    response = client.post(
        "/api/v1/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=_signed(payload)
    )
    assert response.status_code == 200, response.content


def _told(user: Any) -> list[tuple[str, str, str]]:
    return [(n.type, n.message, n.url) for n in Notification.objects.filter(recipient=user).order_by("pk")]


# --- the payouts gate -------------------------------------------------------------------------------------------


@override_settings(TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH=True)
def test_a_paid_pattern_waits_for_payouts_and_the_creator_and_followers_hear_at_the_right_time(client: Client) -> None:
    mira = UserFactory.create(username="mira")
    fan = UserFactory.create(username="fan")
    follow_set(follower=fan, creator=mira, on=True)
    CreatorProfile.objects.create(user=mira, display_name="Mira")
    paid = PatternFactory.create(
        creator=mira, title="Hex planter", price=900, status=Pattern.Status.NEEDS_REVIEW, published_at=None
    )
    free = PatternFactory.create(
        creator=mira, title="Coaster", price=0, status=Pattern.Status.NEEDS_REVIEW, published_at=None
    )
    moderator = StaffFactory.create(is_superuser=True)
    for pattern in (paid, free):
        response = token_client(moderator).post(
            f"/api/v1/patterns/{pattern.pk}/moderation/", {"action": "approve", "reason": ""}
        )
        assert response.status_code == 200
    outbox_drain()
    paid.refresh_from_db()
    assert (paid.status, paid.awaiting_payouts) == ("draft", True)
    assert Pattern.objects.get(pk=free.pk).status == "published"
    # The creator reads why on the status page, and was told of the approval and what is missing.
    client.force_login(mira)
    page = client.get(f"/sell/patterns/{paid.pk}/").content.decode()
    assert "Approved, waiting for payouts" in page
    assert 'href="/sell/earnings/"' in page
    assert _told(mira) == [
        (
            "pattern.approved",
            "“Hex planter” was approved: it goes on sale once your payouts are set up.",
            "/sell/earnings/",
        ),
        ("pattern.approved", "“Coaster” was approved and is on sale.", free.get_absolute_url()),
    ]
    held = EventRecord.objects.get(type="pattern.updated", subject_id=paid.pk)
    assert (held.actor_id, held.data["changes"]["awaiting_payouts"]) == (moderator.pk, {"from": False, "to": True})
    entry = describe(held)
    assert (entry.headline, entry.detail) == (
        f"Edited by {moderator.username}",
        "Status: waiting for review → draft; Awaiting payouts: no → yes",
    )
    # Followers hear only of what is on sale.
    assert _told(fan) == [("new_pattern", "mira published “Coaster”.", free.get_absolute_url())]
    assert Client().get(paid.get_absolute_url()).status_code == 404

    # Payouts ready (Stripe Connect's webhook): the paid pattern goes on sale and everyone hears of it once.
    PayoutAccount.objects.create(creator=mira, stripe_account_id="acct_mira")
    account = {"id": "acct_mira", "details_submitted": True, "payouts_enabled": True}
    _webhook(Client(), {"id": "evt_acct", "type": "account.updated", "data": {"object": account}})
    outbox_drain()
    outbox_drain()
    paid.refresh_from_db()
    assert (paid.status, paid.awaiting_payouts, paid.status_reason) == ("published", False, "")
    assert _told(mira)[2:] == [
        ("pattern.approved", "“Hex planter” was approved and is on sale.", paid.get_absolute_url())
    ]
    assert _told(fan)[1:] == [("new_pattern", "mira published “Hex planter”.", paid.get_absolute_url())]
    assert Client().get(paid.get_absolute_url()).status_code == 200


# --- the verified e-mail gate ------------------------------------------------------------------------------------


@override_settings(TESSERA_SELL_REQUIRES_VERIFIED_EMAIL=True)
def test_an_unverified_seller_s_real_upload_is_refused_and_nothing_is_kept(client: Client) -> None:
    seller = UserFactory.create(username="newseller")
    EmailAddress.objects.create(user=seller, email=seller.email, primary=True, verified=False)
    form = {
        "title": "Cube",
        "description": "A cube",
        "price": 0,
        "currency": "USD",
        "licence": "cc0",
    }
    api = token_client(seller)
    refused = api.post(
        "/api/v1/patterns/",
        {**form, "files": [SimpleUploadedFile("cube.stl", samples.stl_cube())]},
        format="multipart",
    )
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("Verify your e-mail address before selling")
    client.force_login(seller)
    page = client.post("/sell/new/", {**form, "files": [SimpleUploadedFile("cube.stl", samples.stl_cube())]})
    assert page.status_code == 403
    assert (Pattern.objects.count(), PatternFile.objects.count()) == (0, 0)
    assert EventRecord.objects.filter(type="pattern.submitted").count() == 0

    EmailAddress.objects.filter(user=seller).update(verified=True)
    accepted = api.post(
        "/api/v1/patterns/",
        {**form, "files": [SimpleUploadedFile("cube.stl", samples.stl_cube())]},
        format="multipart",
    )
    assert accepted.status_code == 201, accepted.content
    assert Pattern.objects.get().creator == seller


# --- a licence change applies to new sales only -------------------------------------------------------------------


def _pay(order: Order) -> None:
    """Pay ``order`` at localstripe with the test card, then Stripe's webhook reaches us (the real path)."""
    intent = stripe_gateway.payment_intent_confirm_test_card(
        payment_intent_id=order.stripe_payment_intent_id or "",
        card={"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"},
    )
    assert intent.status == "succeeded"
    succeeded = {"id": intent.id, "amount": order.amount, "currency": order.currency.lower(), "latest_charge": ""}
    _webhook(Client(), {"id": f"evt_{intent.id}", "type": "payment_intent.succeeded", "data": {"object": succeeded}})


def _licence_of(buyer: Any, pattern: Pattern) -> tuple[str, bool]:
    licence = certificate_issue(entitlement=Entitlement.objects.get(buyer=buyer, pattern=pattern)).content["licence"]
    return licence["code"], licence["commercial_use"]


def test_a_licence_change_reaches_new_sales_only_through_checkout(localstripe: str) -> None:
    mira = UserFactory.create(username="mira")
    early, pending, later = (UserFactory.create(username=name) for name in ("early", "pending", "later"))
    pattern = PatternFactory.create(creator=mira, price=900)
    assert pattern.licence.code == "personal"
    _pay(payment_services.order_create(buyer=early, pattern_ids=[pattern.pk]))
    before = certificate_issue(entitlement=Entitlement.objects.get(buyer=early, pattern=pattern))
    # An order placed before the change but paid after it keeps the terms it was placed under.
    placed = payment_services.order_create(buyer=pending, pattern_ids=[pattern.pk])

    response = token_client(mira).patch(f"/api/v1/patterns/{pattern.pk}/", {"licence": "commercial"}, format="json")
    assert response.status_code == 200
    assert response.json()["licence"] == "commercial"
    _pay(placed)
    _pay(payment_services.order_create(buyer=later, pattern_ids=[pattern.pk]))

    assert _licence_of(early, pattern) == ("personal", False)
    assert _licence_of(pending, pattern) == ("personal", False)
    assert _licence_of(later, pattern) == ("commercial", True)
    # The early buyer's signed certificate is the one issued before: unchanged.
    after = certificate_issue(entitlement=Entitlement.objects.get(buyer=early, pattern=pattern))
    assert (after.pk, after.signature, after.content) == (before.pk, before.signature, before.content)


# --- the creator hears about approval, sale and review --------------------------------------------------------------


def test_the_creator_hears_about_approval_sale_and_review_and_only_buyers_review() -> None:
    mira = UserFactory.create(username="mira")
    buyer, stranger = UserFactory.create(username="buyer"), UserFactory.create(username="stranger")
    pattern = PatternFactory.create(
        creator=mira, title="Hex planter", price=900, status=Pattern.Status.NEEDS_REVIEW, published_at=None
    )
    approved = token_client(StaffFactory.create(is_superuser=True)).post(
        f"/api/v1/patterns/{pattern.pk}/moderation/", {"action": "approve", "reason": ""}
    )
    assert approved.status_code == 200
    pattern.refresh_from_db()
    paid_order(buyer, pattern)  # payments records order.paid; its inline handler grants the entitlement
    outbox_drain()

    refused = token_client(stranger).post(f"/api/v1/patterns/{pattern.pk}/reviews/", {"rating": 1, "text": "meh"})
    assert refused.status_code == 403
    own = token_client(mira).post(f"/api/v1/patterns/{pattern.pk}/reviews/", {"rating": 5, "text": "mine"})
    assert own.status_code == 403
    review = token_client(buyer).post(f"/api/v1/patterns/{pattern.pk}/reviews/", {"rating": 4, "text": "Lovely"})
    assert review.status_code == 201, review.content
    outbox_drain()
    outbox_drain()  # a re-drain tells nobody twice

    assert _told(mira) == [
        ("pattern.approved", "“Hex planter” was approved and is on sale.", pattern.get_absolute_url()),
        ("sale", "You sold “Hex planter” (USD 9.00).", "/sell/earnings/"),
        ("review.created", "“Hex planter” has a new 4-star review.", pattern.get_absolute_url()),
    ]
    assert [t for t, _m, _u in _told(buyer)] == ["order.receipt"]
    assert _told(stranger) == []
    assert list(Review.objects.values_list("buyer__username", "rating")) == [("buyer", 4)]
    assert EventRecord.objects.filter(type="review.created").count() == 1
