"""Notifications from domain events: once per event, to exactly the right people, with e-mail as they chose."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog.events import (
    CopyFlagged,
    PatternPublished,
    PatternRejected,
    PatternVersionPublished,
    PatternVersionRejected,
)
from marketplace.events import record
from marketplace.events.services import outbox_drain
from notifications import services
from notifications.models import EmailPreference, Notification, OutgoingEmail
from payments.events import PayoutFailed
from payments.models import Order
from payments.services import order_paid_event
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory, order_item_add, paid_entitlement

pytestmark = pytest.mark.django_db


def send_pending() -> list[str]:
    """What the notifications queue would do: send every pending e-mail (here, to Django's locmem outbox)."""
    return [
        services.email_send(email_id=pk)
        for pk in OutgoingEmail.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True)
    ]


def paid_order(buyer: Any, *patterns: Any) -> Order:
    order = Order.objects.create(
        buyer=buyer,
        amount=sum(p.price for p in patterns),
        currency="USD",
        status=Order.Status.PAID,
        paid_at=timezone.now(),
    )
    for pattern in patterns:
        order_item_add(order=order, pattern=pattern)
    with transaction.atomic():
        record(order_paid_event(order=order, actor_id=None))
    return order


def mine(user: Any) -> list[tuple[str, str]]:
    return [(n.type, n.message) for n in Notification.objects.filter(recipient=user).order_by("pk")]


def test_a_sale_tells_each_creator_only_their_lines_and_the_buyer_gets_the_receipt_once() -> None:
    mira, olu = UserFactory.create(username="mira"), UserFactory.create(username="olu")
    buyer = UserFactory.create(username="buyer", email="buyer@example.com")
    bystander = UserFactory.create(username="bystander")
    planter = PatternFactory.create(creator=mira, title="Hex planter", price=900)
    lamp = PatternFactory.create(creator=olu, title="Moon lamp", price=500)

    order = paid_order(buyer, planter, lamp)
    outbox_drain()
    outbox_drain()  # a re-drain adds nothing

    assert mine(mira) == [("sale", "You sold “Hex planter” (USD 9.00).")]
    assert mine(olu) == [("sale", "You sold “Moon lamp” (USD 5.00).")]
    receipt = Notification.objects.get(recipient=buyer)
    assert (receipt.type, receipt.url) == ("order.receipt", "/library/")
    assert f"order #{order.pk}" in receipt.message
    assert mine(bystander) == []
    assert Notification.objects.count() == 3

    # Even the handler run again for the same event writes no second row.
    event = order_paid_event(order=order, actor_id=None)
    from notifications.handlers import order_paid

    order_paid(type(event)(**{**event.__dict__, "event_id": receipt.event_id}))
    assert Notification.objects.count() == 3

    assert send_pending() == ["sent", "sent", "sent"]
    assert send_pending() == []
    receipt_mail = next(m for m in mail.outbox if m.to == ["buyer@example.com"])
    assert "/library/" in receipt_mail.body
    html, kind = receipt_mail.alternatives[0]  # type: ignore[attr-defined]
    assert kind == "text/html"
    assert "http://" in str(html)
    assert "/library/" in str(html)
    assert receipt_mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert receipt_mail.extra_headers["List-Unsubscribe"].startswith("<http")


def test_moderation_and_payout_events_reach_the_creator_and_copy_flags_reach_staff_only() -> None:
    creator = UserFactory.create(username="maker")
    moderator = UserFactory.create(username="mod", is_staff=True)
    other_staff = UserFactory.create(username="mod2", is_staff=True)
    pattern = PatternFactory.create(creator=creator, title="Quilt")
    with transaction.atomic():
        record(PatternPublished(pattern_id=pattern.pk, creator_id=creator.pk, actor_id=moderator.pk))
        record(PatternRejected(pattern_id=pattern.pk, creator_id=creator.pk, reason="Blurry previews", actor_id=None))
        record(
            CopyFlagged(
                pattern_id=pattern.pk,
                flag_id=1,
                kind="mesh",
                matched_pattern_id=pattern.pk + 1,
                distance=0.01,
                threshold=0.05,
                actor_id=None,
            )
        )
        record(PayoutFailed(payout_id=1, creator_id=creator.pk, amount=1200, currency="usd", reason="no account"))
    outbox_drain()
    assert [t for t, _ in mine(creator)] == ["pattern.approved", "pattern.rejected", "payout.failed"]
    assert "Blurry previews" in mine(creator)[1][1]
    assert [t for t, _ in mine(moderator)] == ["copy.flagged"]
    assert [t for t, _ in mine(other_staff)] == ["copy.flagged"]


def test_a_new_version_reaches_every_earlier_buyer_and_nobody_else() -> None:
    creator = UserFactory.create(username="maker")
    first, second, stranger = (UserFactory.create(username=n) for n in ("first", "second", "stranger"))
    pattern = PatternFactory.create(creator=creator, title="Lamp", price=500)
    paid_entitlement(buyer=first, pattern=pattern)
    paid_entitlement(buyer=second, pattern=pattern)
    with transaction.atomic():
        record(
            PatternVersionPublished(
                pattern_id=pattern.pk, creator_id=creator.pk, version=2, changelog="Thicker walls", actor_id=None
            )
        )
    outbox_drain()
    assert set(
        Notification.objects.filter(type="pattern.version_published").values_list("recipient__username", flat=True)
    ) == {"first", "second"}
    assert mine(stranger) == []
    # The creator hears of the approval itself, not of the buyers' update.
    assert mine(creator) == [
        ("pattern.approved", "Version 2 of “Lamp” was approved: earlier buyers get it in their library.")
    ]


def test_the_creator_hears_that_a_version_was_rejected_with_the_reason() -> None:
    creator = UserFactory.create(username="maker", email="maker@example.com")
    buyer = UserFactory.create(username="first")
    pattern = PatternFactory.create(creator=creator, title="Lamp", price=500)
    paid_entitlement(buyer=buyer, pattern=pattern)
    with transaction.atomic():
        record(
            PatternVersionRejected(
                pattern_id=pattern.pk, creator_id=creator.pk, version=2, reason="Blurry previews", actor_id=None
            )
        )
    outbox_drain()
    outbox_drain()
    assert mine(creator) == [("pattern.rejected", "Version 2 of “Lamp” was rejected: Blurry previews")]
    assert Notification.objects.get(recipient=creator).url == f"/sell/patterns/{pattern.pk}/"
    assert mine(buyer) == []
    assert send_pending() == ["sent"]
    assert [m.to for m in mail.outbox] == [["maker@example.com"]]


def test_a_preference_suppresses_the_email_but_not_the_notification() -> None:
    creator = UserFactory.create(username="maker", email="maker@example.com")
    buyer = UserFactory.create(username="buyer", email="buyer@example.com")
    services.preference_set(user=creator, type="sale", enabled=False)
    paid_order(buyer, PatternFactory.create(creator=creator, title="Hex", price=900))
    outbox_drain()
    assert [t for t, _ in mine(creator)] == ["sale"]
    assert not OutgoingEmail.objects.filter(notification__recipient=creator).exists()
    send_pending()
    assert [m.to for m in mail.outbox] == [["buyer@example.com"]]


def test_the_unsubscribe_link_works_signed_out_and_turns_off_only_that_type(client: Client) -> None:
    user = UserFactory.create(username="reader", email="r@example.com")
    token = services.unsubscribe_token(user_id=user.pk, type="sale")
    page = client.get(f"/email/unsubscribe/{token}/")
    assert page.status_code == 200
    assert EmailPreference.objects.count() == 0
    # RFC 8058 one-click: a mail client POSTs, without cookies or a CSRF token.
    one_click = Client(enforce_csrf_checks=True).post(f"/email/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    # Legal notices (takedowns, issue 14) are always sent, so they are not among the choices.
    assert services.preferences_for(user=user) == {
        **dict.fromkeys(set(services.TYPES) - services.REQUIRED_EMAIL_TYPES, True),
        "demand.digest": False,  # opt-in: off until the person turns it on
        "sale": False,
    }
    assert client.post(f"/email/unsubscribe/{token[:-2]}xx/").status_code == 400
    assert client.post("/email/unsubscribe/not-a-token/").status_code == 400
    assert services.preferences_for(user=user)["sale"] is False
    assert list(EmailPreference.objects.values_list("type", "enabled")) == [("sale", False)]


def test_the_api_lists_only_my_notifications_newest_first_and_others_are_404() -> None:
    me, other = UserFactory.create(username="me"), UserFactory.create(username="other")
    older = services.notify(event_id=uuid.uuid4(), recipient_ids=[me.pk], type="payout.paid", message="old")[0]
    newer = services.notify(event_id=uuid.uuid4(), recipient_ids=[me.pk], type="sale", message="new")[0]
    theirs = services.notify(event_id=uuid.uuid4(), recipient_ids=[other.pk], type="sale", message="x")[0]
    api = token_client(me)
    body = api.get("/api/v1/notifications/").json()
    assert body["count"] == 2
    assert [(n["id"], n["read"]) for n in body["results"]] == [(newer.pk, False), (older.pk, False)]
    assert set(body["results"][0]) == {"id", "type", "message", "url", "created_at", "read"}
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    response = api.post(f"/api/v1/notifications/{older.pk}/read/")
    assert response.status_code == 200
    assert response.json()["read"] is True
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=other, read_at__isnull=True).count() == 1
    assert Client().get("/api/v1/notifications/").status_code in (401, 403)


def test_pages_show_the_bell_and_the_centre(client: Client) -> None:
    me = UserFactory.create(username="me")
    services.notify(event_id=uuid.uuid4(), recipient_ids=[me.pk], type="sale", message="You sold “Hex”.")
    client.force_login(me)
    page = client.get("/account/notifications/")
    assert page.status_code == 200
    assert "You sold “Hex”." in page.content.decode()
    assert 'class="cart-count">1<' in page.content.decode()
    assert client.post("/account/email-preferences/", {"email": ["order.receipt"]}).status_code == 200
    assert services.preferences_for(user=me)["sale"] is False
    assert services.preferences_for(user=me)["order.receipt"] is True


def test_emails_go_to_the_notifications_queue_and_the_sweep_sends_what_was_never_enqueued() -> None:
    from marketplace.celery import app

    assert app.amqp.router.route({}, "notifications.tasks.email_send")["queue"].name == "notifications"
    assert app.amqp.router.route({}, "notifications.tasks.emails_sweep")["queue"].name == "notifications"
    buyer = UserFactory.create(username="buyer", email="buyer@example.com")
    services.notify(event_id=uuid.uuid4(), recipient_ids=[buyer.pk], type="order.refunded", message="refunded")
    email = OutgoingEmail.objects.get()
    assert email.enqueued_at is None  # the on-commit enqueue never ran (as when the broker was down)
    assert services.emails_sweep() == 1
    email.refresh_from_db()
    assert email.enqueued_at is not None
    assert services.emails_sweep() == 0  # enqueued recently: left to its task


def test_the_staff_mail_page_lists_what_the_file_backend_wrote(settings: Any, tmp_path: Any, client: Client) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    buyer = UserFactory.create(username="buyer", email="buyer@example.com")
    services.notify(event_id=uuid.uuid4(), recipient_ids=[buyer.pk], type="payout.paid", message="USD 12.00 sent")
    assert send_pending() == ["sent"]
    client.force_login(buyer)
    assert client.get("/staff/mail/").status_code == 302  # not staff: to the admin sign-in
    client.force_login(UserFactory.create(username="mod", is_staff=True))
    page = client.get("/staff/mail/").content.decode()
    assert "Tessera: Payouts sent" in page
    assert "to buyer@example.com" in page
    assert "USD 12.00 sent" in page
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert client.get("/staff/mail/").status_code == 404


def test_followers_hear_of_a_new_pattern_and_nobody_else() -> None:
    from community.services import follow_set

    creator = UserFactory.create(username="maker")
    fan, stranger = UserFactory.create(username="fan"), UserFactory.create(username="stranger")
    follow_set(follower=fan, creator=creator, on=True)
    pattern = PatternFactory.create(creator=creator, title="Moon lamp")
    with transaction.atomic():
        record(PatternPublished(pattern_id=pattern.pk, creator_id=creator.pk, actor_id=None))
    outbox_drain()
    outbox_drain()
    assert mine(fan) == [("new_pattern", "maker published “Moon lamp”.")]
    assert mine(stranger) == []
    assert [t for t, _ in mine(creator)] == ["pattern.approved"]


def test_publishing_again_after_an_unpublish_is_not_a_new_approval_nor_news_for_followers(client: Client) -> None:
    """Issue 12 walk-through: "Publish again" told the creator "was approved and is on sale" (with an e-mail) and
    the followers "published …" as if the pattern were new. A republish is recorded as such and tells nobody."""
    from catalog import services as catalog_services
    from community.services import follow_set
    from marketplace.events.models import EventRecord

    creator = UserFactory.create(username="maker")
    fan = UserFactory.create(username="fan")
    follow_set(follower=fan, creator=creator, on=True)
    pattern = PatternFactory.create(creator=creator, title="Moon lamp")
    catalog_services.pattern_unpublish(pattern=pattern, actor=creator)
    outbox_drain()
    mail.outbox.clear()
    client.force_login(creator)
    response = client.post(f"/sell/patterns/{pattern.pk}/lifecycle/", {"action": "publish"})
    assert response.status_code == 302
    pattern.refresh_from_db()
    assert pattern.status == "published"
    outbox_drain()
    send_pending()
    published = EventRecord.objects.get(type="pattern.published", subject_id=pattern.pk)
    assert published.data["republished"] is True
    assert published.actor_id == creator.pk
    assert mine(creator) == []
    assert mine(fan) == []
    assert OutgoingEmail.objects.count() == 0
    assert mail.outbox == []


def test_the_centre_says_just_now_under_a_minute_then_minutes_ago(client: Client) -> None:
    """Issue 12 walk-through: a fresh notification read "0 minutes ago"."""
    me = UserFactory.create(username="me")
    services.notify(event_id=uuid.uuid4(), recipient_ids=[me.pk], type="sale", message="You sold “Hex”.")
    older = uuid.uuid4()
    services.notify(event_id=older, recipient_ids=[me.pk], type="sale", message="You sold “Cog”.")
    Notification.objects.filter(event_id=older).update(created_at=timezone.now() - timedelta(minutes=5))
    client.force_login(me)
    page = client.get("/account/notifications/").content.decode()
    assert "0\xa0minutes" not in page
    assert "0 minutes" not in page
    assert page.count(">just now</time>") == 1
    assert page.count(">5\xa0minutes ago</time>") == 1
