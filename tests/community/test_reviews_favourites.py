"""Reviews, ratings, favourites, collections and follows (issue 12): who may do what, and the exact figures."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from catalog.models import Pattern
from community import selectors
from community.models import Favourite, Follow, Review, ReviewPhoto
from delivery.models import Entitlement
from marketplace.events.models import EventRecord
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def _reviews_url(pattern: Pattern) -> str:
    return f"/api/v1/patterns/{pattern.pk}/reviews/"


def _png(width: int = 8, height: int = 8) -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(data, "PNG")
    data.seek(0)
    data.name = "make.png"
    return data


def test_only_buyers_review_one_each_and_the_rating_follows() -> None:
    pattern = PatternFactory.create(with_file=False)
    buyer, other = UserFactory.create(), UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)

    assert APIClient().post(_reviews_url(pattern), {"rating": 5, "text": "x"}).status_code == 401
    assert token_client(other).post(_reviews_url(pattern), {"rating": 5, "text": "x"}).status_code == 403
    creator = token_client(pattern.creator).post(_reviews_url(pattern), {"rating": 5, "text": "mine"})
    assert creator.status_code == 403
    assert Review.objects.count() == 0
    assert token_client(buyer).post(_reviews_url(pattern), {"rating": 6, "text": "x"}).status_code == 400
    assert token_client(buyer).post(_reviews_url(pattern), {"rating": 0}).status_code == 400

    created = token_client(buyer).post(_reviews_url(pattern), {"rating": 4, "text": "Lovely fit."})
    assert created.status_code == 201, created.content
    assert created.json()["author"] == buyer.username
    assert created.json()["rating"] == 4
    again = token_client(buyer).post(_reviews_url(pattern), {"rating": 1, "text": "again"})
    assert again.status_code == 400
    assert Review.objects.filter(pattern=pattern).count() == 1

    detail = APIClient().get(f"/api/v1/patterns/{pattern.pk}/").json()
    assert detail["rating"] == {"average": 4.0, "count": 1}

    # Editing the one review (its author only) moves the average.
    review_id = created.json()["id"]
    assert token_client(other).patch(f"/api/v1/reviews/{review_id}/", {"rating": 1}).status_code == 403
    edited = token_client(buyer).patch(f"/api/v1/reviews/{review_id}/", {"rating": 2})
    assert edited.status_code == 200
    assert APIClient().get(f"/api/v1/patterns/{pattern.pk}/").json()["rating"] == {"average": 2.0, "count": 1}

    events = EventRecord.objects.filter(type="review.created")
    assert events.count() == 1
    assert events.get().actor_id == buyer.pk
    assert events.get().data["rating"] == 4

    listing = APIClient().get(_reviews_url(pattern)).json()
    assert listing["count"] == 1
    assert [r["id"] for r in listing["results"]] == [review_id]


def test_a_refunded_buyer_cannot_review() -> None:
    pattern = PatternFactory.create(with_file=False)
    buyer = UserFactory.create()
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern)
    Entitlement.objects.filter(pk=entitlement.pk).update(revoked_at=timezone.now())
    assert token_client(buyer).post(_reviews_url(pattern), {"rating": 3}).status_code == 403
    assert Review.objects.count() == 0


def test_hidden_reviews_leave_the_list_and_the_average() -> None:
    pattern = PatternFactory.create(with_file=False)
    fan, troll = UserFactory.create(), UserFactory.create()
    for buyer in (fan, troll):
        paid_entitlement(buyer=buyer, pattern=pattern)
    token_client(fan).post(_reviews_url(pattern), {"rating": 5, "text": "Great."})
    bad = token_client(troll).post(_reviews_url(pattern), {"rating": 1, "text": "spam"}).json()
    pattern.refresh_from_db()
    assert (pattern.rating_average, pattern.rating_count) == (Decimal("3.00"), 2)

    assert token_client(fan).post(f"/api/v1/reviews/{bad['id']}/hide/", {"hidden": True}).status_code == 403
    moderator = StaffFactory.create()
    hidden = token_client(moderator).post(f"/api/v1/reviews/{bad['id']}/hide/", {"hidden": True}, format="json")
    assert hidden.status_code == 200, hidden.content

    detail = APIClient().get(f"/api/v1/patterns/{pattern.pk}/").json()
    assert detail["rating"] == {"average": 5.0, "count": 1}
    listing = APIClient().get(_reviews_url(pattern)).json()
    assert [r["author"] for r in listing["results"]] == [fan.username]
    assert APIClient().get(f"/api/v1/reviews/{bad['id']}/").status_code == 404


def test_the_creator_replies_once() -> None:
    pattern = PatternFactory.create(with_file=False)
    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    review = token_client(buyer).post(_reviews_url(pattern), {"rating": 3, "text": "ok"}).json()
    url = f"/api/v1/reviews/{review['id']}/reply/"
    assert token_client(buyer).post(url, {"text": "me"}).status_code == 403
    first = token_client(pattern.creator).post(url, {"text": "Thanks!"})
    assert first.status_code == 200
    assert first.json()["reply"] == "Thanks!"
    assert token_client(pattern.creator).post(url, {"text": "Again"}).status_code == 400
    assert Review.objects.get(pk=review["id"]).reply == "Thanks!"


def test_make_photos_are_checked() -> None:
    pattern = PatternFactory.create(with_file=False)
    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    review = token_client(buyer).post(_reviews_url(pattern), {"rating": 5, "text": "made it"}).json()
    url = f"/api/v1/reviews/{review['id']}/photos/"
    not_image = io.BytesIO(b"GIF89a not really")
    not_image.name = "x.png"
    assert token_client(buyer).post(url, {"image": not_image}, format="multipart").status_code == 400
    assert token_client(UserFactory.create()).post(url, {"image": _png()}, format="multipart").status_code == 403
    ok = token_client(buyer).post(url, {"image": _png(12, 10)}, format="multipart")
    assert ok.status_code == 201, ok.content
    assert (ok.json()["width"], ok.json()["height"]) == (12, 10)
    assert ReviewPhoto.objects.count() == 1


def test_make_photo_pixel_limit(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_REVIEW_PHOTO_MAX_PIXELS = 100
    pattern = PatternFactory.create(with_file=False)
    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    review = token_client(buyer).post(_reviews_url(pattern), {"rating": 5}).json()
    big = token_client(buyer).post(
        f"/api/v1/reviews/{review['id']}/photos/", {"image": _png(20, 20)}, format="multipart"
    )
    assert big.status_code == 400
    assert ReviewPhoto.objects.count() == 0


def test_favourites_are_idempotent_and_counted() -> None:
    pattern = PatternFactory.create(with_file=False)
    user = UserFactory.create()
    url = f"/api/v1/patterns/{pattern.pk}/favourite/"
    assert APIClient().post(url).status_code == 401
    client = token_client(user)
    for _ in range(2):
        answer = client.post(url)
        assert answer.status_code == 200
        assert answer.json() == {"pattern": pattern.pk, "favourite": True, "favourite_count": 1}
    assert Favourite.objects.filter(user=user).count() == 1
    listing = client.get("/api/v1/favourites/").json()
    assert [f["pattern"]["id"] for f in listing["results"]] == [pattern.pk]
    assert APIClient().get(f"/api/v1/patterns/{pattern.pk}/").json()["favourite_count"] == 1
    for _ in range(2):
        answer = client.delete(url)
        assert answer.status_code == 200
        assert answer.json()["favourite_count"] == 0
    assert Favourite.objects.count() == 0
    assert client.get("/api/v1/favourites/").json()["count"] == 0


def test_private_collections_of_others_are_404() -> None:
    owner, stranger = UserFactory.create(), UserFactory.create()
    pattern = PatternFactory.create(with_file=False)
    client = token_client(owner)
    private = client.post("/api/v1/collections/", {"name": "Winter"}, format="json").json()
    public = client.post("/api/v1/collections/", {"name": "Shown", "is_public": True}, format="json").json()
    assert client.post("/api/v1/collections/", {"name": "Winter"}, format="json").status_code == 400
    assert client.put(f"/api/v1/collections/{private['id']}/patterns/{pattern.pk}/").status_code == 200
    assert client.put(f"/api/v1/collections/{private['id']}/patterns/{pattern.pk}/").json()["patterns"] == [pattern.pk]

    assert token_client(stranger).get(f"/api/v1/collections/{private['id']}/").status_code == 404
    assert APIClient().get(f"/api/v1/collections/{private['id']}/").status_code == 404
    assert APIClient().get(f"/api/v1/collections/{public['id']}/").status_code == 200
    assert token_client(stranger).patch(f"/api/v1/collections/{public['id']}/", {"name": "Mine"}).status_code == 404
    assert token_client(stranger).delete(f"/api/v1/collections/{public['id']}/").status_code == 404
    assert client.get(f"/api/v1/collections/{private['id']}/").json()["patterns"] == [pattern.pk]
    assert [c["name"] for c in token_client(stranger).get("/api/v1/collections/").json()["results"]] == []


def test_follow_and_follower_ids() -> None:
    creator, fan = UserFactory.create(), UserFactory.create()
    url = f"/api/v1/creators/{creator.username}/follow/"
    assert token_client(fan).post(url).json() == {"creator": creator.username, "following": True, "followers": 1}
    assert token_client(fan).post(url).json()["followers"] == 1
    assert token_client(creator).post(url).status_code == 400
    assert selectors.follower_ids(creator_id=creator.pk) == [fan.pk]
    assert EventRecord.objects.filter(type="creator.followed").count() == 1
    assert token_client(fan).delete(url).json()["followers"] == 0
    assert selectors.follower_ids(creator_id=creator.pk) == []
    assert Follow.objects.count() == 0
