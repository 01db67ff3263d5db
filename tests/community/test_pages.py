"""The pattern page's reviews and rating, cards' rating, the review and favourite forms, the collection pages."""

from __future__ import annotations

import pytest
from django.test import Client

from community.models import Collection, Favourite, Review
from tests.factories import PatternFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def test_a_buyer_reviews_from_the_page_and_everyone_sees_it() -> None:
    pattern = PatternFactory.create(with_file=False)
    buyer, stranger = UserFactory.create(), UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    assert "Reviews" not in Client().get(pattern.get_absolute_url()).content.decode()

    client = Client()
    client.force_login(stranger)
    assert "Review this pattern" not in client.get(pattern.get_absolute_url()).content.decode()
    client.post(f"/patterns/{pattern.pk}/review/", {"rating": 5, "text": "sneaky"})
    assert Review.objects.count() == 0

    client.force_login(buyer)
    assert "Review this pattern" in client.get(pattern.get_absolute_url()).content.decode()
    answer = client.post(f"/patterns/{pattern.pk}/review/", {"rating": 4, "text": "Printed well."})
    assert answer.status_code == 302
    client.post(f"/patterns/{pattern.pk}/review/", {"rating": 5, "text": "Even better."})  # edits, not a second
    assert list(Review.objects.values_list("rating", "text")) == [(5, "Even better.")]

    page = Client().get(pattern.get_absolute_url()).content.decode()
    assert "Even better." in page
    assert "5.0 out of 5" in page
    assert "Verified purchase" in page
    home = Client().get("/").content.decode()
    assert '5.0<span class="visually-hidden"> out of 5</span> (1' in home


def test_favourite_form_and_collection_pages() -> None:
    pattern = PatternFactory.create(with_file=False)
    owner, stranger = UserFactory.create(), UserFactory.create()
    client = Client()
    client.force_login(owner)
    for _ in range(2):
        client.post(f"/patterns/{pattern.pk}/favourite/", {"on": "1"})
    assert Favourite.objects.filter(user=owner).count() == 1
    assert "Saved by 1 person" in Client().get(pattern.get_absolute_url()).content.decode()
    page = client.get("/me/favourites/")
    assert page.status_code == 200
    assert pattern.title in page.content.decode()
    assert client.post("/me/favourites/", {"name": "Gifts"}).status_code == 302
    collection = Collection.objects.get(owner=owner, name="Gifts")
    assert collection.is_public is False
    assert client.get(f"/collections/{collection.pk}/").status_code == 200
    other = Client()
    other.force_login(stranger)
    assert other.get(f"/collections/{collection.pk}/").status_code == 404
    assert Client().get(f"/collections/{collection.pk}/").status_code == 404
    Collection.objects.filter(pk=collection.pk).update(is_public=True)
    assert other.get(f"/collections/{collection.pk}/").status_code == 200
    assert Client().get("/me/favourites/").status_code == 302  # sign in first


def _page_queries(url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(url)  # fills per-process caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def test_the_reviews_section_costs_two_queries_however_many_reviews() -> None:
    from community import services

    pattern = PatternFactory.create(with_file=False)
    without = _page_queries(pattern.get_absolute_url())
    counts = []
    for index in range(6):
        buyer = UserFactory.create()
        paid_entitlement(buyer=buyer, pattern=pattern)
        services.review_create(pattern=pattern, buyer=buyer, rating=1 + index % 5, text=f"Review {index}")
        if index in (0, 5):
            counts.append(_page_queries(pattern.get_absolute_url()))
    assert counts == [without + 2, without + 2]  # the reviews (with their authors), their photos


def test_staff_hide_a_review_from_the_admin() -> None:
    from tests.factories import StaffFactory

    pattern = PatternFactory.create(with_file=False)
    buyer = UserFactory.create()
    paid_entitlement(buyer=buyer, pattern=pattern)
    from community import services

    review = services.review_create(pattern=pattern, buyer=buyer, rating=1, text="spam")
    client = Client()
    client.force_login(StaffFactory.create())
    answer = client.post(
        "/admin/community/review/", {"action": "hide", "_selected_action": [review.pk], "index": 0}, follow=False
    )
    assert answer.status_code == 302
    pattern.refresh_from_db()
    assert (pattern.rating_average, pattern.rating_count) == (None, 0)
    assert Review.objects.get(pk=review.pk).hidden_at is not None
