"""Tags: attributes (colour, rendering, format) are not discovery tags; the status page is honest about tagging
and lets the creator add tags."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import selectors
from catalog import services as catalog_services
from catalog.models import Licence, Pattern, Tag, TagSuggestion
from ingestion import services, submit
from ingestion.tagging.service import pattern_tag
from tests import samples
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_popular_tags_never_show_formats_colours_or_renderings(client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        pattern = PatternFactory.create()
        catalog_services.pattern_tags_add(pattern=pattern, names=["stl", "3mf", "red", "sky blue", "photo", "line art"])
    vase = PatternFactory.create()
    catalog_services.pattern_tags_add(pattern=vase, names=["vase", "3d printing", "stl"])
    assert [tag.name for tag in selectors.tag_list_popular()] == ["3d printing", "vase"]
    assert dict(Tag.objects.values_list("slug", "kind")) == {
        "stl": "format",
        "3mf": "format",
        "red": "colour",
        "sky-blue": "colour",
        "photo": "rendering",
        "line-art": "rendering",
        "vase": "subject",
        "3d-printing": "subject",
    }
    home = client.get("/").content.decode()
    popular = home[home.index("Popular tags") :]
    assert "?tag=vase" in popular
    for noise in ("stl", "3mf", "red", "sky-blue", "photo", "line-art"):
        assert f"?tag={noise}" not in popular
    # The pattern page lists formats as attributes (still a filter link), not as discovery tags.
    detail = client.get(vase.get_absolute_url()).content.decode()
    assert '<a class="pill" href="/search/?tag=vase">vase</a>' in detail
    assert '<a class="pill" href="/search/?tag=stl">' not in detail
    assert 'File format: <a href="/search/?tag=stl">stl</a>' in detail


def test_only_confident_subject_tags_are_applied_attributes_always(settings) -> None:  # type: ignore[no-untyped-def]
    pattern = PatternFactory.create()
    catalog_services.pattern_suggestions_record(
        pattern=pattern,
        suggestions=[
            ("red", "colour", 0.2, "model"),
            ("photo", "style", 0.6, "model"),
            ("floral", "motif", 0.5, "model"),
            ("geometric", "style", 0.35, "model"),
        ],
        auto_accept=0.45,
    )
    states = dict(TagSuggestion.objects.filter(pattern=pattern).values_list("tag__name", "state"))
    assert states == {"red": "accepted", "photo": "accepted", "floral": "accepted", "geometric": "suggested"}
    assert sorted(pattern.tags.filter(kind="subject").values_list("name", flat=True)) == ["floral"]
    assert sorted(pattern.tags.exclude(kind="subject").values_list("name", flat=True)) == ["photo", "red"]
    # "geometric" waits for the creator; popular tags only count published subject tags that were applied.
    assert [t.name for t in selectors.tag_list_popular()] == ["floral"]


def test_status_page_is_not_ready_before_tagging_and_shows_tags_as_they_arrive(client) -> None:  # type: ignore[no-untyped-def]
    creator = UserFactory.create()
    pattern = submit.pattern_create(
        creator=creator,
        title="Cube",
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile("cube.stl", samples.stl_cube(30))],
    )
    for file_id in pattern.files.values_list("id", flat=True):
        services.pattern_file_process(pattern_file_id=file_id)
    services.pattern_finalize(pattern_id=pattern.pk)
    client.force_login(creator)
    url = f"/sell/patterns/{pattern.pk}/status.json"
    before = client.get(url).json()
    assert (before["status"], before["step"], before["done"]) == ("needs_review", "tagging", False)
    assert before["tags"] == ["3d printing"]
    assert before["attributes"] == [{"name": "stl", "kind": "File format"}]
    page = client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    assert "still tagging" in page

    pattern_tag(pattern_id=pattern.pk)
    after = client.get(url).json()
    assert (after["status"], after["step"], after["done"]) == ("needs_review", "ready", True)
    assert "3d printing" in after["tags"]
    assert all(a["name"] not in after["tags"] for a in after["attributes"])
    assert Pattern.objects.get(pk=pattern.pk).processing_step == "ready"


def test_creator_adds_validated_tags(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TESSERA_CREATOR_TAG_LIMIT = 3
    pattern = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW)
    url = f"/sell/patterns/{pattern.pk}/tags/"
    client.force_login(pattern.creator)

    response = client.post(url, {"tags": "Succulent Pot,  desk   planter "})
    assert response.status_code == 302
    assert sorted(pattern.tags.values_list("slug", flat=True)) == ["desk-planter", "succulent-pot"]
    assert TagSuggestion.objects.get(pattern=pattern, tag__slug="desk-planter").source == "creator"

    for bad, message in [
        ("succulent pot", "already has the tag"),
        ("cactus, Cactus", "in the list twice"),
        ("x" * 41, "longer than 40 characters"),
        ("!!!", "has no letters or digits"),
        (" , ", "at least one tag"),
        ("one, two", "at most 3 tags"),
    ]:
        response = client.post(url, {"tags": bad})
        assert response.status_code == 400, bad
        assert message in response.content.decode(), bad
    assert pattern.tags.count() == 2

    client.force_login(UserFactory.create())
    assert client.post(url, {"tags": "stolen"}).status_code == 404
    client.logout()
    assert client.post(url, {"tags": "anon"}).status_code == 302  # to the sign-in page
    assert pattern.tags.count() == 2
    assert not Tag.objects.filter(slug__in=["stolen", "anon", "cactus"]).exists()
