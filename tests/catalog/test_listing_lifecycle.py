"""Issue 12 (h/shops): unpublish / republish, soft delete, and the payouts gate for paid patterns."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.test import APIClient

from catalog.models import CreatorProfile, Licence, Pattern, Preview
from catalog.services import PAYOUTS_NEEDED_FOR_PRICE, PAYOUTS_WAIT_REASON, pattern_tags_add
from delivery.services import certificate_issue
from marketplace.events.models import EventRecord
from payments.models import PayoutAccount
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory, add_file, paid_entitlement

pytestmark = pytest.mark.django_db


def _events(pattern: Pattern, kind: str) -> list[tuple[str, int | None]]:
    rows = EventRecord.objects.filter(subject_type="pattern", subject_id=pattern.pk, type=kind).order_by("pk")
    return [(row.type, row.actor_id) for row in rows]


def _listed_ids(api_client: APIClient) -> set[int]:
    return {row["id"] for row in api_client.get("/api/v1/patterns/").json()["results"]}


def test_the_creator_unpublishes_and_republishes_others_cannot(api_client: APIClient) -> None:
    mira = UserFactory.create(username="mira")
    pattern = PatternFactory.create(creator=mira, title="Lamp")
    stranger = token_client(UserFactory.create())

    assert stranger.post(f"/api/v1/patterns/{pattern.pk}/unpublish/").status_code == 403
    assert api_client.post(f"/api/v1/patterns/{pattern.pk}/unpublish/").status_code == 401
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED
    assert _events(pattern, "pattern.unpublished") == []

    response = token_client(mira).post(f"/api/v1/patterns/{pattern.pk}/unpublish/")
    assert response.status_code == 200
    assert response.json()["status"] == "unpublished"
    assert _events(pattern, "pattern.unpublished") == [("pattern.unpublished", mira.pk)]
    # Gone for everyone else: the list, the API detail, the page.
    assert pattern.pk not in _listed_ids(api_client)
    assert api_client.get(f"/api/v1/patterns/{pattern.pk}/").status_code == 404
    assert Client().get(pattern.get_absolute_url()).status_code == 404
    assert stranger.post(f"/api/v1/patterns/{pattern.pk}/publish/").status_code == 404
    # Unpublishing twice is refused with a reason.
    again = token_client(mira).post(f"/api/v1/patterns/{pattern.pk}/unpublish/")
    assert again.status_code == 400
    assert "Only a published pattern" in again.json()["status"][0]

    response = token_client(mira).post(f"/api/v1/patterns/{pattern.pk}/publish/")
    assert response.status_code == 200
    assert response.json()["status"] == "published"
    assert _events(pattern, "pattern.published") == [("pattern.published", mira.pk)]
    assert pattern.pk in _listed_ids(api_client)
    assert api_client.get(f"/api/v1/patterns/{pattern.pk}/").status_code == 200


def test_soft_delete_hides_the_pattern_and_buyers_keep_their_downloads(api_client: APIClient) -> None:
    mira, buyer = UserFactory.create(username="mira"), UserFactory.create()
    pattern = PatternFactory.create(creator=mira, title="Lamp shade", with_file=samples.blob_stl())
    paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    stranger = token_client(UserFactory.create())

    assert stranger.delete(f"/api/v1/patterns/{pattern.pk}/").status_code == 403
    assert token_client(buyer).delete(f"/api/v1/patterns/{pattern.pk}/").status_code == 403
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED

    assert token_client(mira).delete(f"/api/v1/patterns/{pattern.pk}/").status_code == 204
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.DELETED
    assert _events(pattern, "pattern.deleted") == [("pattern.deleted", mira.pk)]
    assert pattern.pk not in _listed_ids(api_client)
    assert api_client.get(f"/api/v1/patterns/{pattern.pk}/").status_code == 404
    assert stranger.get(f"/api/v1/patterns/{pattern.pk}/").status_code == 404
    assert Client().get(pattern.get_absolute_url()).status_code == 404
    assert "Lamp shade" not in Client().get("/search/?q=lamp").content.decode()
    # A second delete says so; the creator still sees it (state "deleted"), their dashboard no longer lists it.
    assert token_client(mira).delete(f"/api/v1/patterns/{pattern.pk}/").status_code == 400
    assert token_client(mira).get(f"/api/v1/patterns/{pattern.pk}/").json()["status"] == "deleted"

    # The buyer keeps the library entry and downloads their marked copy.
    library = token_client(buyer).get("/api/v1/library/").json()
    assert [entry["pattern"] for entry in library] == [{"id": pattern.pk, "title": "Lamp shade", "slug": pattern.slug}]
    link = library[0]["files"][0]["download_url"]
    assert token_client(buyer).get(link).status_code == 200


def _signed(payload: bytes) -> str:
    timestamp = int(time.time())
    secret = django_settings.STRIPE_WEBHOOK_SECRET
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def test_a_paid_pattern_waits_as_a_draft_until_payouts_are_ready(settings: Any, client: Client) -> None:
    settings.TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH = True
    mira = UserFactory.create(username="mira")
    CreatorProfile.objects.create(user=mira, display_name="Mira")
    paid = PatternFactory.create(creator=mira, price=900, status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    free = PatternFactory.create(creator=mira, price=0, status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    moderator = token_client(StaffFactory.create(is_superuser=True))

    for pattern in (paid, free):
        response = moderator.post(f"/api/v1/patterns/{pattern.pk}/moderation/", {"action": "approve", "reason": ""})
        assert response.status_code == 200
    paid.refresh_from_db()
    free.refresh_from_db()
    assert free.status == Pattern.Status.PUBLISHED
    assert (paid.status, paid.awaiting_payouts, paid.status_reason) == ("draft", True, PAYOUTS_WAIT_REASON)
    assert paid.published_at is None
    assert _events(paid, "pattern.published") == []
    assert token_client(mira).get(f"/api/v1/patterns/{paid.pk}/").json()["status"] == "draft"
    assert Client().get(paid.get_absolute_url()).status_code == 404

    # Stripe Connect reports the account ready (the real webhook path): the waiting pattern goes on sale.
    PayoutAccount.objects.create(creator=mira, stripe_account_id="acct_mira")
    payload = json.dumps(
        {
            "id": "evt_acct",
            "type": "account.updated",
            "data": {"object": {"id": "acct_mira", "details_submitted": True, "payouts_enabled": True}},
        }
    ).encode()
    webhook = client.post(
        "/api/v1/stripe/webhook/", payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=_signed(payload)
    )
    assert webhook.status_code == 200
    paid.refresh_from_db()
    assert (paid.status, paid.awaiting_payouts, paid.status_reason) == ("published", False, "")
    assert paid.published_at is not None
    assert _events(paid, "pattern.published") == [("pattern.published", None)]
    assert CreatorProfile.objects.get(user=mira).payouts_ready is True


def test_republishing_a_paid_pattern_needs_payouts(settings: Any) -> None:
    settings.TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH = True
    mira = UserFactory.create(username="mira")
    CreatorProfile.objects.create(user=mira, display_name="Mira")
    pattern = PatternFactory.create(creator=mira, price=900, status=Pattern.Status.UNPUBLISHED)
    response = token_client(mira).post(f"/api/v1/patterns/{pattern.pk}/publish/")
    assert response.status_code == 400
    assert response.json()["status"] == [PAYOUTS_WAIT_REASON]
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.UNPUBLISHED
    assert _events(pattern, "pattern.published") == []


def test_status_page_buttons_unpublish_publish_and_delete(client: Client) -> None:
    mira = UserFactory.create(username="mira")
    pattern = PatternFactory.create(creator=mira)
    client.force_login(UserFactory.create())
    url = f"/sell/patterns/{pattern.pk}/lifecycle/"
    assert client.post(url, {"action": "unpublish"}).status_code == 404  # someone else's pattern
    client.force_login(mira)
    page = client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    assert 'value="unpublish"' in page
    assert f'href="/sell/patterns/{pattern.pk}/delete/"' in page  # Delete asks first (its own page)
    assert client.post(url, {"action": "explode"}).status_code == 400
    assert client.post(url, {"action": "unpublish"}).status_code == 302
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.UNPUBLISHED
    assert 'value="publish"' in client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    assert client.post(url, {"action": "publish"}).status_code == 302
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED
    response = client.post(url, {"action": "delete"})
    assert response["Location"] == "/sell/"
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.DELETED
    assert pattern.title not in client.get("/sell/").content.decode()


def test_a_licence_change_applies_to_new_sales_only() -> None:
    mira, buyer = UserFactory.create(username="mira"), UserFactory.create()
    pattern = PatternFactory.create(creator=mira)
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern)
    response = token_client(mira).patch(f"/api/v1/patterns/{pattern.pk}/", {"licence": "commercial"}, format="json")
    assert response.status_code == 200
    assert response.json()["licence"] == "commercial"
    # The earlier buyer's certificate keeps the terms sold (the order line's licence), not the new one.
    assert certificate_issue(entitlement=entitlement).content["licence"]["code"] == "personal"


def test_patch_tags_replaces_the_creators_own_tags_only() -> None:
    mira = UserFactory.create(username="mira")
    pattern = PatternFactory.create(creator=mira)
    pattern_tags_add(pattern=pattern, names=["stl"], source="system")
    client = token_client(mira)
    response = client.patch(f"/api/v1/patterns/{pattern.pk}/", {"tags": ["lamp", "desk lamp"]}, format="json")
    assert response.status_code == 200
    assert set(pattern.tags.values_list("slug", flat=True)) == {"stl", "lamp", "desk-lamp"}
    response = client.patch(f"/api/v1/patterns/{pattern.pk}/", {"tags": ["desk lamp", "moon"]}, format="json")
    assert response.status_code == 200
    assert set(pattern.tags.values_list("slug", flat=True)) == {"stl", "desk-lamp", "moon"}
    decisions = EventRecord.objects.filter(type="tag.decided", subject_id=pattern.pk).values_list("data", flat=True)
    assert sorted((d["tag"], d["decision"]) for d in decisions) == [
        ("desk lamp", "added"),
        ("lamp", "added"),
        ("lamp", "removed"),
        ("moon", "added"),
    ]
    # Bad input changes nothing, not even the other fields sent with it.
    bad = client.patch(f"/api/v1/patterns/{pattern.pk}/", {"title": "New", "tags": ["x" * 100]}, format="json")
    assert bad.status_code == 400
    pattern.refresh_from_db()
    assert pattern.title != "New"
    assert set(pattern.tags.values_list("slug", flat=True)) == {"stl", "desk-lamp", "moon"}
    # Someone else may not.
    other = token_client(UserFactory.create()).patch(f"/api/v1/patterns/{pattern.pk}/", {"tags": []}, format="json")
    assert other.status_code == 403


def test_patch_preview_order_chooses_the_cover(client: Client) -> None:
    mira = UserFactory.create(username="mira")
    pattern = PatternFactory.create(creator=mira, with_file=False)
    pattern_file = add_file(pattern, name="a.stl", content=samples.stl_cube(), file_format="stl")
    previews = []
    for position in range(3):
        preview = Preview(pattern=pattern, pattern_file=pattern_file, label=f"View {position}", position=position)
        preview.image.save(f"p{position}.png", ContentFile(samples.png_tile(32)))
        previews.append(preview.pk)
    api = token_client(mira)
    for bad in ([previews[0]], [*previews, previews[0]], [previews[0], previews[1], 999999]):
        response = api.patch(f"/api/v1/patterns/{pattern.pk}/", {"preview_order": bad}, format="json")
        assert response.status_code == 400
        assert "preview_order" in response.json()
    stranger = token_client(UserFactory.create())
    assert (
        stranger.patch(f"/api/v1/patterns/{pattern.pk}/", {"preview_order": previews}, format="json").status_code == 403
    )
    wanted = [previews[2], previews[0], previews[1]]
    response = api.patch(f"/api/v1/patterns/{pattern.pk}/", {"preview_order": wanted}, format="json")
    assert response.status_code == 200
    assert list(pattern.previews.values_list("pk", flat=True)) == wanted
    changes = EventRecord.objects.filter(type="pattern.updated", subject_id=pattern.pk).get().data["changes"]
    assert changes == {
        "cover": {"from": previews[0], "to": previews[2]},
        "preview_order": {"from": previews, "to": wanted},
    }
    # The pattern page shows the chosen cover first.
    page = client.get(pattern.get_absolute_url()).content.decode()
    assert page.index("View 2") < page.index("View 0")


def test_a_failed_or_rejected_pattern_is_resubmitted_through_ingestion(client: Client) -> None:
    mira = UserFactory.create(username="mira")
    failed = PatternFactory.create(
        creator=mira, status=Pattern.Status.FAILED, status_reason="Could not read", published_at=None
    )
    rejected = PatternFactory.create(creator=mira, status=Pattern.Status.REJECTED, published_at=None)
    published = PatternFactory.create(creator=mira)
    stranger = token_client(UserFactory.create())
    assert stranger.post(f"/api/v1/patterns/{failed.pk}/resubmit/").status_code == 404
    refused = token_client(mira).post(f"/api/v1/patterns/{published.pk}/resubmit/")
    assert refused.status_code == 400
    assert "Only a rejected or failed pattern" in refused.json()["status"][0]

    response = token_client(mira).post(f"/api/v1/patterns/{failed.pk}/resubmit/")
    assert response.status_code == 200
    assert response.json()["status"] == "processing"
    failed.refresh_from_db()
    assert (failed.status, failed.status_reason) == ("processing", "")
    record = EventRecord.objects.filter(type="pattern.updated", subject_id=failed.pk).get()
    assert record.actor_id == mira.pk
    assert record.data["changes"]["status"] == {"from": "failed", "to": "processing"}

    client.force_login(mira)
    status_page = client.get(f"/sell/patterns/{rejected.pk}/").content.decode()
    assert f'action="/sell/patterns/{rejected.pk}/resubmit/"' in status_page
    assert client.post(f"/sell/patterns/{rejected.pk}/resubmit/").status_code == 302
    rejected.refresh_from_db()
    assert rejected.status == Pattern.Status.PROCESSING


def test_a_published_free_pattern_cannot_start_charging_before_payouts(settings: Any) -> None:
    settings.TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH = True
    mira = UserFactory.create(username="mira")
    profile = CreatorProfile.objects.create(user=mira, display_name="Mira")
    free = PatternFactory.create(creator=mira, price=0, licence=Licence.objects.get(code="personal"))
    api = token_client(mira)
    response = api.patch(f"/api/v1/patterns/{free.pk}/", {"price": 500}, format="json")
    assert response.status_code == 400
    assert response.json()["price"] == [PAYOUTS_NEEDED_FOR_PRICE]
    free.refresh_from_db()
    assert free.price == 0
    assert _events(free, "pattern.updated") == []
    profile.payouts_ready = True
    profile.save()
    assert api.patch(f"/api/v1/patterns/{free.pk}/", {"price": 500}, format="json").status_code == 200
