"""Issue 12 (h/studio): the edit page's tags, cover and preview order, and Delete asked on its own page."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from catalog.models import Pattern, Preview, TagSuggestion
from catalog.services import pattern_tags_add_by_creator
from marketplace.events.models import EventRecord
from tests import samples
from tests.factories import PatternFactory, UserFactory, add_file, paid_entitlement

pytestmark = pytest.mark.django_db

LISTING = {"title": "Lamp", "description": "A lamp.", "licence": "personal", "price": "5.00", "category": ""}


def _with_previews(creator: object) -> tuple[Pattern, list[int]]:
    pattern = PatternFactory.create(creator=creator, title="Lamp", price=500, with_file=False)
    pattern_file = add_file(pattern, name="a.stl", content=samples.stl_cube(), file_format="stl")
    ids = []
    for position in range(3):
        preview = Preview(pattern=pattern, pattern_file=pattern_file, label=f"View {position}", position=position)
        preview.image.save(f"p{position}.png", ContentFile(samples.png_tile(32)))
        ids.append(preview.pk)
    return pattern, ids


def _own_tags(pattern: Pattern) -> list[str]:
    rows = TagSuggestion.objects.filter(pattern=pattern, source=TagSuggestion.Source.CREATOR)
    return sorted(rows.values_list("tag__name", flat=True))


def test_the_edit_page_sets_tags_cover_and_order_like_patch() -> None:
    mira = UserFactory.create(username="mira")
    pattern, (first, second, third) = _with_previews(mira)
    pattern_tags_add_by_creator(pattern=pattern, user=mira, text="desk, old")
    client = Client()
    client.force_login(mira)

    page = client.get(f"/sell/patterns/{pattern.pk}/edit/").content.decode()
    assert 'value="desk, old"' in page  # the creator's own tags, editable
    assert page.count('class="edit-preview card"') == 3  # a thumbnail each, with its position
    assert f'name="position_{first}" id="id_position_{first}" value="1"' in page
    assert f'name="cover" value="{first}" checked' in page

    # Bad input: a tag with no letters, a position out of range. 400, nothing saved (listing, tags or order).
    for bad, said in (
        ({"tags": "lamp, !!!"}, "“!!!” has no letters or digits."),
        ({f"position_{second}": "9", "cover": str(first)}, "Ensure this value is less than or equal to 3."),
    ):
        response = client.post(f"/sell/patterns/{pattern.pk}/edit/", {**LISTING, "title": "Changed", **bad})
        assert response.status_code == 400
        assert said in response.content.decode()
    pattern.refresh_from_db()
    assert pattern.title == "Lamp"
    assert _own_tags(pattern) == ["desk", "old"]
    assert list(pattern.previews.values_list("pk", flat=True)) == [first, second, third]
    assert EventRecord.objects.filter(type="pattern.updated", subject_id=pattern.pk).count() == 0

    data = {
        **LISTING,
        "tags": "desk,  bedside lamp ",
        "cover": str(third),
        f"position_{first}": "2",
        f"position_{second}": "1",
        f"position_{third}": "3",
    }
    response = client.post(f"/sell/patterns/{pattern.pk}/edit/", data)
    assert (response.status_code, response["Location"]) == (302, f"/sell/patterns/{pattern.pk}/")
    assert _own_tags(pattern) == ["bedside lamp", "desk"]
    # The cover first, then by position.
    assert list(pattern.previews.values_list("pk", flat=True)) == [third, second, first]
    updates = EventRecord.objects.filter(type="pattern.updated", subject_id=pattern.pk).order_by("pk")
    # One for the listing's text (description and category), one for the pictures.
    assert [sorted(row.data["changes"]) for row in updates] == [["category", "description"], ["cover", "preview_order"]]
    changes = updates.last().data["changes"]  # type: ignore[union-attr]
    assert changes == {
        "cover": {"from": first, "to": third},
        "preview_order": {"from": [first, second, third], "to": [third, second, first]},
    }
    # The same order through the API afterwards, and the page shows it.
    page = client.get(f"/sell/patterns/{pattern.pk}/edit/").content.decode()
    assert f'name="cover" value="{third}" checked' in page
    assert page.index(f"position_{third}") < page.index(f"position_{first}")

    # A post without the tags and pictures fields (an older form) leaves them alone.
    assert client.post(f"/sell/patterns/{pattern.pk}/edit/", {**LISTING, "title": "Lamp 2"}).status_code == 302
    assert _own_tags(pattern) == ["bedside lamp", "desk"]
    assert list(pattern.previews.values_list("pk", flat=True)) == [third, second, first]


def test_delete_is_asked_first_and_buyers_keep_access() -> None:
    mira = UserFactory.create(username="mira")
    pattern = PatternFactory.create(creator=mira, title="Lamp", with_file=False)
    buyer = UserFactory.create()
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern)
    client = Client()
    client.force_login(mira)

    status_page = client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    assert f'href="/sell/patterns/{pattern.pk}/delete/"' in status_page
    assert 'value="delete"' not in status_page  # no longer a one-click delete
    page = client.get(f"/sell/patterns/{pattern.pk}/delete/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "disappears from your shop, from search" in html
    assert "Buyers keep access to what they bought" in html
    assert f'href="/sell/patterns/{pattern.pk}/"' in html  # Cancel
    assert '<button class="btn danger" type="submit">Delete listing</button>' in html
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED  # asking deletes nothing

    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert stranger.get(f"/sell/patterns/{pattern.pk}/delete/").status_code == 404
    assert stranger.post(f"/sell/patterns/{pattern.pk}/delete/").status_code == 404
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.PUBLISHED

    response = client.post(f"/sell/patterns/{pattern.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/sell/", 302)]
    assert "“Lamp” is deleted" in response.content.decode()
    pattern.refresh_from_db()
    assert pattern.status == Pattern.Status.DELETED
    assert EventRecord.objects.filter(type="pattern.deleted", subject_id=pattern.pk).count() == 1
    entitlement.refresh_from_db()
    assert entitlement.revoked_at is None
    # Deleted already: the page says so instead of asking again; a second post deletes nothing more.
    assert client.get(f"/sell/patterns/{pattern.pk}/delete/")["Location"] == f"/sell/patterns/{pattern.pk}/"
    client.post(f"/sell/patterns/{pattern.pk}/delete/")
    assert EventRecord.objects.filter(type="pattern.deleted", subject_id=pattern.pk).count() == 1
