"""Issue 14 (h/trust): notice and action end to end — a complete notice, staff removal, the uploader told why, buyers
keeping access, earnings held; incomplete notices refused field by field; counter-notices restoring at
``restore_after`` and not before; who may see and decide what."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Pattern
from marketplace.events.models import EventRecord
from marketplace.events.services import outbox_drain
from notifications import services as notification_services
from notifications.models import Notification, OutgoingEmail
from payments import ledger
from payments.models import EarningsHold, LedgerTransaction
from payments.payouts import payout_create
from provenance import services as provenance_services
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory, paid_entitlement
from trust import selectors, services
from trust.models import CounterNotice, Strike, TakedownNotice

pytestmark = pytest.mark.django_db

REQUIRED = {
    "claimant_name",
    "claimant_email",
    "claimant_address",
    "work_description",
    "original_location",
    "patterns",
    "good_faith",
    "accurate_under_penalty",
    "signature",
}


def send_pending() -> None:
    """What the notifications queue would do: send every pending e-mail (Django's locmem outbox here)."""
    for pk in OutgoingEmail.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True):
        notification_services.email_send(email_id=pk)


def notice_body(*patterns: Pattern, original: str = "https://example.com/my-cube", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "claimant_name": "Ada Owner",
        "claimant_email": "ada@example.org",
        "claimant_address": "1 Studio Lane, Leeds LS1 1AA, UK",
        "claimant_phone": "",
        "work_description": "My cube planter model, first published in 2023.",
        "original_location": original,
        "patterns": [f"http://testserver{p.get_absolute_url()}" if i == 0 else p.pk for i, p in enumerate(patterns)],
        "explanation": "The file is byte for byte mine.",
        "good_faith": True,
        "accurate_under_penalty": True,
        "signature": "Ada Owner",
    }
    body.update(changes)
    return body


def with_earnings(pattern: Pattern, buyer: Any) -> int:
    """A paid sale of ``pattern`` booked in the ledger and past the payout hold: returns the creator's share."""
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    sale = ledger.sale_record(order=entitlement.order_item.order)
    assert sale is not None
    LedgerTransaction.objects.filter(pk=sale.pk).update(created_at=timezone.now() - timedelta(days=30))
    return ledger.creator_balance(creator=pattern.creator, currency="USD", available_only=True)


def types(**filters: Any) -> list[tuple[str, int | None]]:
    return [(row.type, row.actor_id) for row in EventRecord.objects.filter(**filters).order_by("pk")]


def received_notice(api_client: APIClient, *patterns: Pattern, **changes: Any) -> TakedownNotice:
    response = api_client.post("/api/v1/takedowns/", notice_body(*patterns, **changes), format="json")
    assert response.status_code == 201, response.json()
    return TakedownNotice.objects.get(pk=response.json()["id"])


def test_a_complete_notice_decided_by_staff_takes_the_listing_down_and_tells_the_uploader_why(
    api_client: APIClient,
) -> None:
    ada = UserFactory.create(username="ada")
    original = PatternFactory.create(creator=ada, title="Cube planter", with_file=samples.stl_cube())
    copier = UserFactory.create(username="copier", email="copier@example.com")
    copy = PatternFactory.create(creator=copier, title="Cube pot", with_file=samples.stl_cube())
    buyer = UserFactory.create(username="buyer")
    share = with_earnings(copy, buyer)
    assert share > 0
    moderator = StaffFactory.create(username="mod_ann")
    stranger = UserFactory.create()
    # The original is in the authorship log (a signed checkpoint includes it); the copy is not.
    leaf = provenance_services.leaf_append(pattern_id=original.pk, version=1, at=original.created_at)
    assert leaf is not None
    checkpoint = provenance_services.checkpoint_publish()
    assert checkpoint is not None

    response = api_client.post(
        "/api/v1/takedowns/",
        notice_body(copy, original=f"http://testserver{original.get_absolute_url()}"),
        format="json",
    )
    assert response.status_code == 201
    notice = TakedownNotice.objects.get()
    assert response.json() == {"id": notice.pk, "status": "received"}
    assert notice.original_pattern_id == original.pk
    assert list(notice.items.values_list("pattern_id", "uploader_id")) == [(copy.pk, copier.pk)]
    assert types(subject_type="takedown", subject_id=notice.pk) == [("takedown.received", None)]

    # The acknowledgement goes to the claimant's address (no account), with their private link.
    outbox_drain()
    send_pending()
    token = selectors.claimant_token(notice)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ada@example.org"], "Tessera: Your takedown notice was received")
    ]
    assert f"/legal/takedown/{notice.pk}/?token={token}" in mail.outbox[0].body
    assert "List-Unsubscribe" not in mail.outbox[0].extra_headers

    # Who sees the notice: the claimant by token, staff with the evidence; nobody else learns it exists.
    assert api_client.get(f"/api/v1/takedowns/{notice.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/takedowns/{notice.pk}/?token={'0' * 40}").status_code == 404
    assert token_client(stranger).get(f"/api/v1/takedowns/{notice.pk}/").status_code == 404
    as_claimant = api_client.get(f"/api/v1/takedowns/{notice.pk}/?token={token}").json()
    assert (as_claimant["status"], as_claimant["role"], as_claimant["restore_after"]) == ("received", "claimant", None)
    assert "evidence" not in as_claimant
    evidence = token_client(moderator).get(f"/api/v1/takedowns/{notice.pk}/").json()["evidence"]
    assert [(m["kind"], m["similarity"], m["is_copy"]) for m in evidence["similarity"]] == [("exact", 1.0, True)]
    assert evidence["original"]["files"][0]["sha256"] == evidence["listings"][0]["files"][0]["sha256"]
    assert evidence["listings"][0]["authorship_receipts"][0]["source"] == "catalog"
    assert evidence["listings"][0]["authorship_receipts"][0]["log"] is None
    assert evidence["original"]["authorship_receipts"][0]["log"] == {
        "leaf_index": leaf.index,
        "statement_time": json.loads(leaf.leaf_data)["time"],
        "checkpoint_tree_size": checkpoint.tree_size,
        "checkpoint_signed_at": checkpoint.created_at.isoformat().replace("+00:00", "Z"),
        "timestamped_at": None,
    }
    assert evidence["uploaders"] == [
        {
            "id": copier.pk,
            "username": "copier",
            "active_strikes": 0,
            "strikes": 0,
            "suspended": False,
            "other_notices": [],
        }
    ]

    # Only staff with the moderation permission decide: others get 403 and nothing changes.
    decision = {"action": "remove", "reason": "The listing's file is identical to the claimant's earlier upload."}
    assert token_client(copier).post(f"/api/v1/takedowns/{notice.pk}/decision/", decision).status_code == 403
    assert api_client.post(f"/api/v1/takedowns/{notice.pk}/decision/", decision).status_code in (401, 403)
    copy.refresh_from_db()
    assert copy.status == Pattern.Status.PUBLISHED

    response = token_client(moderator).post(f"/api/v1/takedowns/{notice.pk}/decision/", decision, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "removed"
    assert response.json()["decided_at"] is not None

    # 404 to the public at once, on the page and the API, and gone from the lists.
    assert api_client.get(f"/api/v1/patterns/{copy.pk}/").status_code == 404
    assert Client().get(copy.get_absolute_url()).status_code == 404
    assert copy.pk not in {row["id"] for row in api_client.get("/api/v1/patterns/").json()["results"]}
    assert api_client.get(f"/api/v1/patterns/{original.pk}/").status_code == 200
    # Recorded with the moderator as the actor.
    assert types(subject_type="pattern", subject_id=copy.pk, type="pattern.removed") == [
        ("pattern.removed", moderator.pk)
    ]
    assert types(subject_type="takedown", subject_id=notice.pk) == [
        ("takedown.received", None),
        ("takedown.removed", moderator.pk),
    ]
    assert types(type="strike.issued") == [("strike.issued", moderator.pk)]
    # The uploader's unpaid earnings from it are held: owed still, but not payable.
    assert ledger.creator_balance(creator=copier, currency="USD") == share
    assert ledger.creator_balance(creator=copier, currency="USD", available_only=True) == 0
    assert list(EarningsHold.objects.values_list("amount", "released_at")) == [(share, None)]

    # The uploader's statement of reasons (what, why, which notice, how to object), as a notification and e-mail.
    mail.outbox.clear()
    outbox_drain()
    send_pending()
    told = Notification.objects.get(recipient=copier)
    assert told.type == "takedown.removed"
    for part in (
        "“Cube pot”",
        "Why: The listing's file is identical",
        f"notice #{notice.pk}",
        "counter-notice",
        "complain",
    ):
        assert part in told.message
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
        ("ada@example.org", "Tessera: A decision on your takedown notice"),
        ("copier@example.com", "Tessera: Your listing was removed after a notice"),
    ]
    assert "Why: The listing's file is identical" in next(m for m in mail.outbox if m.to == ["copier@example.com"]).body

    # The buyer keeps access: their library still lists it and the download works.
    library = token_client(buyer).get("/api/v1/library/").json()
    assert token_client(buyer).get(library[0]["files"][0]["download_url"]).status_code == 200

    # A second decision is a conflict and changes nothing.
    again = token_client(moderator).post(
        f"/api/v1/takedowns/{notice.pk}/decision/", {"action": "reject", "reason": "Changed my mind"}, format="json"
    )
    assert again.status_code == 409
    notice.refresh_from_db()
    assert notice.status == TakedownNotice.Status.REMOVED
    assert EventRecord.objects.filter(type="takedown.rejected").count() == 0


def test_an_incomplete_notice_is_refused_field_by_field_and_nothing_is_saved(api_client: APIClient) -> None:
    copy = PatternFactory.create(title="Cube pot")
    draft = PatternFactory.create(title="Draft", status=Pattern.Status.DRAFT)

    empty = api_client.post("/api/v1/takedowns/", {}, format="json")
    assert empty.status_code == 400
    assert set(empty.json()) == REQUIRED

    body = notice_body(
        copy,
        good_faith=False,
        claimant_email="not an address",
        signature="",
        patterns=[copy.pk, 999999, "https://elsewhere.example/patterns/x/", draft.pk],
    )
    del body["accurate_under_penalty"]
    response = api_client.post("/api/v1/takedowns/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"good_faith", "accurate_under_penalty", "claimant_email", "signature", "patterns"}
    assert errors["good_faith"] == ["You must affirm this statement (true) for the notice to be valid."]
    assert errors["accurate_under_penalty"] == errors["good_faith"]
    assert len(errors["patterns"]) == 3
    for ref in ("999999", "https://elsewhere.example/patterns/x/", str(draft.pk)):
        assert any(repr(ref) in message for message in errors["patterns"])
    unknown_original = api_client.post("/api/v1/takedowns/", notice_body(copy, original="424242"), format="json")
    assert unknown_original.status_code == 400
    assert set(unknown_original.json()) == {"original_location"}

    assert TakedownNotice.objects.count() == 0
    assert EventRecord.objects.filter(type__startswith="takedown.").count() == 0
    assert OutgoingEmail.objects.count() == 0


def _removed(api_client: APIClient, moderator: Any, *patterns: Pattern) -> TakedownNotice:
    notice = received_notice(api_client, *patterns)
    response = token_client(moderator).post(
        f"/api/v1/takedowns/{notice.pk}/decision/", {"action": "remove", "reason": "Copies the claimant's model."}
    )
    assert response.status_code == 200
    notice.refresh_from_db()
    return notice


def test_a_counter_notice_schedules_restoration_and_the_task_restores_at_restore_after_not_before(
    api_client: APIClient, settings: Any
) -> None:
    settings.TESSERA_PAYOUT_MINIMUM = 1
    uploader = UserFactory.create(username="upl", email="upl@example.com")
    pattern = PatternFactory.create(creator=uploader, title="Owl lamp")
    share = with_earnings(pattern, UserFactory.create())
    moderator = StaffFactory.create()
    notice = _removed(api_client, moderator, pattern)
    assert ledger.creator_balance(creator=uploader, currency="USD", available_only=True) == 0
    assert payout_create(creator=uploader, currency="USD") is None  # a held balance is not paid out
    earnings = Client()
    earnings.force_login(uploader)
    assert "is held while a takedown notice" in earnings.get("/sell/earnings/").content.decode()
    assert Strike.objects.filter(creator=uploader, lifted_at__isnull=True).count() == 1
    # The uploader reads their notice signed in: the claim and the claimant's name, not their contact details.
    as_uploader = token_client(uploader).get(f"/api/v1/takedowns/{notice.pk}/").json()
    assert (as_uploader["role"], as_uploader["status"], as_uploader["claimant_name"]) == (
        "uploader",
        "removed",
        "Ada Owner",
    )
    assert [row["id"] for row in as_uploader["patterns"]] == [pattern.pk]
    assert "claimant_email" not in as_uploader
    assert "evidence" not in as_uploader
    url = f"/api/v1/takedowns/{notice.pk}/counter-notice/"
    counter = {
        "name": "Up Loader",
        "address": "2 Maker Row, Bristol",
        "statement_good_faith": True,
        "consent_to_jurisdiction": True,
        "signature": "Up Loader",
    }

    # Only the uploader counters: a stranger sees no such notice, staff are not the uploader, anonymous must sign in.
    assert token_client(UserFactory.create()).post(url, counter, format="json").status_code == 404
    assert token_client(moderator).post(url, counter, format="json").status_code == 403
    assert api_client.post(url, counter, format="json").status_code in (401, 403)
    incomplete = token_client(uploader).post(
        url, {"name": "Up Loader", "consent_to_jurisdiction": False}, format="json"
    )
    assert incomplete.status_code == 400
    assert set(incomplete.json()) == {"address", "statement_good_faith", "consent_to_jurisdiction", "signature"}
    assert CounterNotice.objects.count() == 0

    before = timezone.now()
    response = token_client(uploader).post(url, counter, format="json")
    assert response.status_code == 201
    notice.refresh_from_db()
    assert notice.status == TakedownNotice.Status.COUNTERED
    assert notice.restore_after is not None
    assert notice.countered_at is not None
    assert notice.restore_after == services.business_days_after(notice.countered_at, 10)
    assert timedelta(days=14) <= notice.restore_after - before <= timedelta(days=16)  # 10 weekdays: two weeks+
    assert response.json()["restore_after"] is not None
    assert token_client(uploader).post(url, counter, format="json").status_code == 409
    assert types(subject_type="takedown", subject_id=notice.pk, type="takedown.countered") == [
        ("takedown.countered", uploader.pk)
    ]
    # The claimant gets a copy of the counter-notice and the date.
    mail.outbox.clear()
    outbox_drain()
    send_pending()
    countered = next(m for m in mail.outbox if m.subject == "Tessera: A counter-notice to your takedown notice")
    assert countered.to == ["ada@example.org"]
    assert "Up Loader (2 Maker Row, Bristol)" in countered.body
    assert f"{notice.restore_after:%d %B %Y}" in countered.body

    # Not before restore_after ...
    assert services.takedowns_restore_due(now=notice.restore_after - timedelta(seconds=1)) == []
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.REMOVED
    assert api_client.get(f"/api/v1/patterns/{pattern.pk}/").status_code == 404
    # ... and at it: back as it was, earnings payable again, the strike lifted; twice changes nothing more.
    assert services.takedowns_restore_due(now=notice.restore_after) == [notice.pk]
    assert services.takedowns_restore_due(now=notice.restore_after + timedelta(days=1)) == []
    pattern.refresh_from_db()
    notice.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED
    assert notice.status == TakedownNotice.Status.RESTORED
    assert api_client.get(f"/api/v1/patterns/{pattern.pk}/").status_code == 200
    assert ledger.creator_balance(creator=uploader, currency="USD", available_only=True) == share
    payout = payout_create(creator=uploader, currency="USD")
    assert payout is not None
    assert payout.amount == share
    assert Strike.objects.filter(creator=uploader, lifted_at__isnull=True).count() == 0
    assert types(subject_type="takedown", subject_id=notice.pk, type="takedown.restored") == [
        ("takedown.restored", None)
    ]
    assert types(subject_type="pattern", subject_id=pattern.pk, type="pattern.restored") == [("pattern.restored", None)]


def test_an_action_filed_by_the_claimant_keeps_the_listing_down(api_client: APIClient, settings: Any) -> None:
    settings.TESSERA_TRUST_RESTORE_BUSINESS_DAYS = 14
    uploader = UserFactory.create()
    pattern = PatternFactory.create(creator=uploader)
    moderator = StaffFactory.create()
    notice = _removed(api_client, moderator, pattern)
    action_url = f"/api/v1/takedowns/{notice.pk}/action-filed/"
    assert token_client(moderator).post(action_url).status_code == 409  # nothing countered yet
    services.counter_notice_file(
        notice=notice, uploader=uploader, counter=services.CounterNoticeInput(name="U", address="A", signature="U")
    )
    notice.refresh_from_db()
    assert notice.countered_at is not None
    assert notice.restore_after == services.business_days_after(notice.countered_at, 14)
    assert token_client(uploader).post(action_url).status_code == 403
    assert token_client(moderator).post(action_url).status_code == 200
    assert services.takedowns_restore_due(now=notice.restore_after + timedelta(days=30)) == []
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.REMOVED
    assert types(type="takedown.action_filed") == [("takedown.action_filed", moderator.pk)]


def test_rejection_tells_the_claimant_why_and_changes_nothing_else(api_client: APIClient) -> None:
    pattern = PatternFactory.create()
    notice = received_notice(api_client, pattern)
    moderator = StaffFactory.create()
    mail.outbox.clear()
    response = token_client(moderator).post(
        f"/api/v1/takedowns/{notice.pk}/decision/",
        {"action": "reject", "reason": "The listing predates your work by two years."},
    )
    assert response.status_code == 200
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED
    assert Strike.objects.count() == 0
    outbox_drain()
    send_pending()
    decision = [m for m in mail.outbox if m.subject == "Tessera: A decision on your takedown notice"]
    assert [m.to for m in decision] == [["ada@example.org"]]
    assert "Why: The listing predates your work by two years." in decision[0].body
    assert Notification.objects.filter(type="takedown.removed").count() == 0


def test_staff_without_the_moderation_permission_cannot_decide(api_client: APIClient) -> None:
    pattern = PatternFactory.create()
    notice = received_notice(api_client, pattern)
    clerk = UserFactory.create(is_staff=True)
    assert (
        token_client(clerk)
        .post(f"/api/v1/takedowns/{notice.pk}/decision/", {"action": "remove", "reason": "x"})
        .status_code
        == 403
    )
    assert token_client(clerk).get(f"/api/v1/takedowns/{notice.pk}/").status_code == 404
    notice.refresh_from_db()
    assert notice.status == TakedownNotice.Status.RECEIVED
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED
