"""One submit workflow (ingestion.submit.pattern_submit) behind the web form and the API: the same pattern sent
both ways gives the same rows and one ``pattern.submitted`` event each, with the creator as actor."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Category, Licence, Pattern, User
from ingestion.submit import pattern_submit
from marketplace.events.models import EventRecord
from marketplace.events.registry import Registry
from marketplace.events.services import _kick_drain
from tests import samples
from tests.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# A registry whose inline handler of pattern.submitted fails: the submission must roll back with it.
failing_registry = Registry()


def _refuse(event: Any) -> None:
    raise RuntimeError("an invariant of pattern.submitted does not hold")


failing_registry.inline("pattern.submitted", _refuse)


def _row(pattern: Pattern) -> dict[str, Any]:
    """What a submission leaves, without what differs by nature (ids, slugs, times)."""
    return {
        "title": pattern.title,
        "description": pattern.description,
        "status": pattern.status,
        "step": pattern.processing_step,
        "licence": pattern.licence.code,
        "category": pattern.category.slug if pattern.category else None,
        "price": pattern.price,
        "commercial_price": pattern.commercial_price,
        "currency": pattern.currency,
        "files": sorted((f.original_name, f.format, f.size, f.sha256, f.status) for f in pattern.files.all()),
        "tags": sorted(pattern.tags.values_list("name", flat=True)),
        "tag_sources": sorted(pattern.tag_suggestions.values_list("tag__name", "source", "state")),
        "creator_profile": pattern.creator.creator_profile is not None,
    }


def _events(pattern: Pattern) -> list[tuple[str, int | None, str, dict[str, Any]]]:
    return [
        (event.type, event.actor_id, event.actor_username, event.data)
        for event in EventRecord.objects.filter(subject_type="pattern", subject_id=pattern.pk)
    ]


def test_the_form_and_the_api_submit_the_same_pattern_identically(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    category = Category.objects.get(slug="3d-printing")
    form_creator, api_creator = UserFactory.create(), UserFactory.create()
    client.force_login(form_creator)
    with django_capture_on_commit_callbacks() as form_commits:
        response = client.post(
            "/sell/new/",
            {
                "title": "  Owl lamp ",
                "description": "A lamp.",
                "price": "4.50",
                "commercial_price": "18.00",
                "currency": "EUR",
                "licence": "personal",
                "category": category.pk,
                "tags": "owl, lamp",
                "files": [SimpleUploadedFile("owl.stl", samples.stl_cube())],
            },
        )
    assert response.status_code == 302
    by_form = Pattern.objects.get(creator=form_creator)
    assert response["Location"] == f"/sell/patterns/{by_form.pk}/"

    with django_capture_on_commit_callbacks() as api_commits:
        response = token_client(api_creator).post(
            "/api/v1/patterns/",
            {
                "title": "  Owl lamp ",
                "description": "A lamp.",
                "price": 450,
                "commercial_price": 1800,
                "currency": "eur",
                "licence": "personal",
                "category": "3d-printing",
                "tags": "owl, lamp",
                "files": [SimpleUploadedFile("owl.stl", samples.stl_cube())],
            },
            format="multipart",
        )
    assert response.status_code == 201, response.content
    by_api = Pattern.objects.get(creator=api_creator)
    assert response.json()["id"] == by_api.pk

    expected = {
        "title": "Owl lamp",
        "description": "A lamp.",
        "status": "processing",
        "step": "received",
        "licence": "personal",
        "category": "3d-printing",
        "price": 450,
        "commercial_price": 1800,
        "currency": "EUR",
        "files": [("owl.stl", "stl", len(samples.stl_cube()), by_form.files.get().sha256, "pending")],
        "tags": ["lamp", "owl"],
        "tag_sources": [("lamp", "creator", "accepted"), ("owl", "creator", "accepted")],
        "creator_profile": True,
    }
    assert _row(by_form) == expected
    assert _row(by_api) == expected
    # One pattern.submitted each, by the creator, and the same work queued after commit (the ingestion chain).
    for pattern, creator in ((by_form, form_creator), (by_api, api_creator)):
        assert _events(pattern) == [
            (
                "pattern.submitted",
                creator.pk,
                creator.username,
                {"pattern_id": pattern.pk, "creator_id": creator.pk, "title": "Owl lamp", "file_count": 1},
            )
        ]
    # (The outbox's drain request is asked for once per transaction: both submits share this test's.)
    form_jobs = [callback for callback in form_commits if callback is not _kick_drain]
    api_jobs = [callback for callback in api_commits if callback is not _kick_drain]
    assert len(form_jobs) == len(api_jobs) >= 1


def test_both_ways_refuse_an_unsupported_currency_and_save_nothing(client: Any, user: User) -> None:
    """The form offered USD, EUR and GBP while the API took any three letters (a pattern priced in "XYZ")."""
    response = token_client(user).post(
        "/api/v1/patterns/",
        {
            "title": "Cube",
            "price": 100,
            "currency": "xyz",
            "licence": "personal",
            "files": [SimpleUploadedFile("c.stl", samples.stl_cube())],
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"currency": ["Patterns are priced in USD, EUR, GBP; “XYZ” is not one."]}
    client.force_login(user)
    response = client.post(
        "/sell/new/",
        {
            "title": "Cube",
            "price": "1",
            "currency": "XYZ",
            "licence": "personal",
            "files": [SimpleUploadedFile("c.stl", samples.stl_cube())],
        },
    )
    assert response.status_code == 200
    assert "currency" in response.context["form"].errors
    assert Pattern.objects.count() == 0
    assert not EventRecord.objects.exists()


def test_the_event_is_part_of_the_submission_transaction(settings: Any, user: User) -> None:
    """pattern.submitted is recorded in the transaction that saves the pattern: when recording it fails, nothing
    of the pattern is kept (no row, no file, no tag)."""
    settings.TESSERA_EVENT_REGISTRY = "tests.ingestion.test_submit.failing_registry"
    with pytest.raises(RuntimeError, match="invariant"):
        pattern_submit(
            creator=user,
            title="Cube",
            price=0,
            licence=Licence.objects.get(code="cc0"),
            files=[SimpleUploadedFile("c.stl", samples.stl_cube())],
            tags=["cube"],
        )
    assert Pattern.objects.count() == 0
    assert not EventRecord.objects.exists()


@pytest.mark.parametrize("changelist", ["/admin/catalog/pattern/", "/admin/catalog/reviewqueue/"])
def test_the_admin_reprocess_action_is_ingestions_and_still_on_the_pattern_admin(
    client: Any, changelist: str, django_capture_on_commit_callbacks: Any
) -> None:
    """catalog's admin no longer calls ingestion; ingestion/admin.py adds "reprocess" to catalog's pattern admins."""
    from tests.factories import PatternFactory, StaffFactory

    pattern = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, published_at=None)
    client.force_login(StaffFactory.create())
    page = client.get(changelist).content.decode()
    assert 'value="reprocess"' in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(changelist, {"action": "reprocess", "_selected_action": [pattern.pk]})
    assert response.status_code == 302
    pattern.refresh_from_db()
    assert (pattern.status, pattern.processing_step) == ("processing", "received")
