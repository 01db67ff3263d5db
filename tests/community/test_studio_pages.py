"""Issue 12 (h/studio): the shop's rating and Follow button, Reply and Hide under reviews, Add to a collection."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import CreatorProfile, Pattern
from community import services
from community.models import Collection, CollectionItem, Follow, Review
from marketplace.events.models import EventRecord
from tests.factories import PatternFactory, StaffFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def _signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _review(pattern: Pattern, rating: int, text: str = "") -> Review:
    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    return services.review_create(pattern=pattern, buyer=buyer, rating=rating, text=text)


# --- 1. Shop rating ---


def test_the_shop_rating_is_over_the_visible_reviews_of_the_creators_published_patterns(client: Client) -> None:
    creator = UserFactory.create(username="rita")
    CreatorProfile.objects.create(user=creator, display_name="Rita")
    lamp = PatternFactory.create(creator=creator, with_file=False)
    vase = PatternFactory.create(creator=creator, with_file=False)
    gone = PatternFactory.create(creator=creator, with_file=False)
    elsewhere = PatternFactory.create(with_file=False)

    page = client.get("/creators/rita/").content.decode()
    assert "No ratings yet" in page
    assert client.get("/api/v1/creators/rita/").json()["rating"] == {"average": None, "count": 0}

    for rating in (5, 4):
        _review(lamp, rating)
    _review(vase, 3)
    troll = _review(vase, 1)
    _review(gone, 1)
    _review(elsewhere, 1)
    services.review_set_hidden(review=troll, user=StaffFactory.create(), hidden=True)
    Pattern.objects.filter(pk=gone.pk).update(status=Pattern.Status.DELETED)

    # (5 + 4 + 3) / 3: the hidden review, the deleted pattern's and another creator's do not count.
    assert client.get("/api/v1/creators/rita/").json()["rating"] == {"average": 4.0, "count": 3}
    page = client.get("/creators/rita/").content.decode()
    assert "No ratings yet" not in page
    assert '4.0<span class="visually-hidden"> out of 5</span> (3 reviews)' in page


# --- 2. Follow on the shop page ---


def test_follow_and_unfollow_from_the_shop_page_without_javascript() -> None:
    creator = UserFactory.create(username="fern")
    CreatorProfile.objects.create(user=creator, display_name="Fern")
    fan = UserFactory.create()

    anonymous = Client().get("/creators/fern/").content.decode()
    assert 'href="/accounts/login/?next=/creators/fern/"' in anonymous
    assert "0</strong> <span data-follow-label>followers" in anonymous
    # Posting without an account follows no one and sends to sign-in, back to the shop afterwards.
    answer = Client().post("/creators/fern/follow/", {"on": "1"})
    assert (answer.status_code, answer["Location"]) == (302, "/accounts/login/?next=/creators/fern/")
    assert Follow.objects.count() == 0

    # The creator sees no button on their own shop.
    assert "data-follow-form" not in _signed_in(creator).get("/creators/fern/").content.decode()

    client = _signed_in(fan)
    assert 'name="on" value="1"' in client.get("/creators/fern/").content.decode()
    for _ in range(2):  # a double click: the second changes nothing
        answer = client.post("/creators/fern/follow/", {"on": "1"})
        assert (answer.status_code, answer["Location"]) == (302, "/creators/fern/")
    assert list(Follow.objects.values_list("follower_id", "creator_id")) == [(fan.pk, creator.pk)]
    assert EventRecord.objects.filter(type="creator.followed").count() == 1
    page = client.get("/creators/fern/").content.decode()
    assert "Following" in page
    assert 'name="on" value="0"' in page
    assert "1</strong> <span data-follow-label>follower<" in page
    assert "1</strong> <span data-follow-label>follower<" in Client().get("/creators/fern/").content.decode()

    # The page's script asks for JSON.
    answer = client.post("/creators/fern/follow/", {"on": "0"}, headers={"accept": "application/json"})
    assert answer.json() == {"creator": "fern", "following": False, "followers": 0}
    assert Follow.objects.count() == 0
    # Without the CSRF token the post is refused.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(fan)
    assert strict.post("/creators/fern/follow/", {"on": "1"}).status_code == 403
    assert Follow.objects.count() == 0
    # Following yourself is refused, nothing saved.
    assert _signed_in(creator).post("/creators/fern/follow/", {"on": "1"}).status_code == 302
    assert Follow.objects.count() == 0
    assert client.post("/creators/nobody/follow/", {"on": "1"}).status_code == 404


# --- 3. Reply and Hide under reviews ---


def test_the_creator_replies_once_and_moderators_hide_and_show_from_the_pattern_page() -> None:
    pattern = PatternFactory.create(with_file=False)
    review = _review(pattern, 2, "Too small for my pot.")
    creator, stranger, moderator = pattern.creator, UserFactory.create(), StaffFactory.create()

    assert 'class="review-reply-form' not in Client().get(pattern.get_absolute_url()).content.decode()
    assert 'class="review-reply-form' not in _signed_in(stranger).get(pattern.get_absolute_url()).content.decode()
    assert _signed_in(stranger).post(f"/reviews/{review.pk}/reply/", {"text": "fake"}).status_code == 403

    owner = _signed_in(creator)
    assert f'action="/reviews/{review.pk}/reply/"' in owner.get(pattern.get_absolute_url()).content.decode()
    assert owner.post(f"/reviews/{review.pk}/reply/", {"text": ""}).status_code == 302  # empty: nothing saved
    review.refresh_from_db()
    assert review.reply == ""
    answer = owner.post(f"/reviews/{review.pk}/reply/", {"text": "Scale it to 120%."})
    assert (answer.status_code, answer["Location"]) == (302, f"{pattern.get_absolute_url()}#review-{review.pk}")
    owner.post(f"/reviews/{review.pk}/reply/", {"text": "A second reply"})  # refused: one reply
    review.refresh_from_db()
    assert review.reply == "Scale it to 120%."
    page = owner.get(pattern.get_absolute_url()).content.decode()
    assert "Scale it to 120%." in page
    assert f'action="/reviews/{review.pk}/reply/"' not in page

    assert f'action="/reviews/{review.pk}/hide/"' not in page  # the creator cannot hide
    assert owner.post(f"/reviews/{review.pk}/hide/", {"hidden": "1"}).status_code == 403
    review.refresh_from_db()
    assert review.hidden_at is None

    staff = _signed_in(moderator)
    assert f'action="/reviews/{review.pk}/hide/"' in staff.get(pattern.get_absolute_url()).content.decode()
    assert staff.post(f"/reviews/{review.pk}/hide/", {"hidden": "1"}).status_code == 302
    review.refresh_from_db()
    pattern.refresh_from_db()
    assert review.hidden_at is not None
    assert pattern.rating_count == 0
    assert "Too small for my pot." not in Client().get(pattern.get_absolute_url()).content.decode()
    assert "Too small for my pot." not in owner.get(pattern.get_absolute_url()).content.decode()
    page = staff.get(pattern.get_absolute_url()).content.decode()
    assert "Too small for my pot." in page
    assert "Hidden from the public" in page
    assert 'name="hidden" value="0"' in page
    staff.post(f"/reviews/{review.pk}/hide/", {"hidden": "0"})
    pattern.refresh_from_db()
    assert pattern.rating_count == 1
    assert "Too small for my pot." in Client().get(pattern.get_absolute_url()).content.decode()


# --- 4. Add to a collection, favourite without JavaScript ---


def test_add_to_a_new_or_existing_collection_from_the_pattern_page() -> None:
    pattern = PatternFactory.create(with_file=False)
    owner, other = UserFactory.create(), UserFactory.create()
    theirs = services.collection_create(owner=other, name="Not yours")
    client = _signed_in(owner)
    assert "Add to a collection" in client.get(pattern.get_absolute_url()).content.decode()
    assert "Add to a collection" not in Client().get(pattern.get_absolute_url()).content.decode()

    answer = client.post(f"/patterns/{pattern.pk}/collect/", {"name": "  Balcony   garden ", "is_public": "on"})
    assert (answer.status_code, answer["Location"]) == (302, f"{pattern.get_absolute_url()}#collect")
    garden = Collection.objects.get(owner=owner)
    assert (garden.name, garden.is_public) == ("Balcony garden", True)
    assert list(garden.patterns.all()) == [pattern]

    gifts = services.collection_create(owner=owner, name="Gifts")
    page = client.get(pattern.get_absolute_url()).content.decode()
    assert f'<option value="{gifts.pk}">Gifts</option>' in page
    assert f'<option value="{garden.pk}">' not in page  # already in it: listed as such
    assert "In 1 collection" in page
    for _ in range(2):  # idempotent
        client.post(f"/patterns/{pattern.pk}/collect/", {"collection": gifts.pk})
    assert CollectionItem.objects.filter(pattern=pattern).count() == 2
    assert "In 2 collections" in Client().get(pattern.get_absolute_url()).content.decode()

    # Someone else's collection, a duplicate name, nothing at all: refused, nothing saved.
    client.post(f"/patterns/{pattern.pk}/collect/", {"collection": theirs.pk})
    client.post(f"/patterns/{pattern.pk}/collect/", {"name": "Gifts"})
    client.post(f"/patterns/{pattern.pk}/collect/", {})
    assert theirs.items.count() == 0
    assert Collection.objects.filter(owner=owner).count() == 2
    assert CollectionItem.objects.filter(pattern=pattern).count() == 2
    assert Client().post(f"/patterns/{pattern.pk}/collect/", {"name": "Anon"}).status_code == 302
    assert Collection.objects.filter(name="Anon").count() == 0

    assert pattern.title in client.get(f"/collections/{gifts.pk}/").content.decode()
    listing = client.get("/me/favourites/").content.decode()
    assert "Balcony garden" in listing
    assert "Gifts" in listing

    # The favourite button says whether it is saved, and unsaves without JavaScript.
    client.post(f"/patterns/{pattern.pk}/favourite/", {"on": "1"})
    page = client.get(pattern.get_absolute_url()).content.decode()
    assert "Saved<span" in page
    assert 'name="on" value="0"' in page
    client.post(f"/patterns/{pattern.pk}/favourite/", {"on": "0"})
    pattern.refresh_from_db()
    assert pattern.favourite_count == 0
