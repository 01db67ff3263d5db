"""Creator input that used to answer 500 after (or while) saving: colliding tag names, malformed upload ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Pattern, PatternFile, Tag, TagSuggestion
from ingestion.models import UploadSession
from tests import samples
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

# 59 "x" then "!": both names below truncate to the same 60-character name but slugify differently.
LONG_A = "x" * 59 + "!a"
LONG_B = "x" * 59 + "!b"


def _stored_originals() -> set[Path]:
    root = Path(settings.ORIGINALS_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _api_create(user, **fields):  # type: ignore[no-untyped-def]
    data = {"title": "Tagged cube", "price": 0, "currency": "USD", "licence": "cc0", **fields}
    data.setdefault("files", [SimpleUploadedFile("cube.stl", samples.stl_cube())])
    return token_client(user).post("/api/v1/patterns/", data, format="multipart")


def _form_create(client, user, **fields):  # type: ignore[no-untyped-def]
    client.force_login(user)
    data = {"title": "Form cube", "price": "0", "currency": "USD", "licence": "cc0", **fields}
    data.setdefault("files", [SimpleUploadedFile("cube.stl", samples.stl_cube())])
    return client.post("/sell/new/", data, HTTP_X_REQUESTED_WITH="XMLHttpRequest")


def test_api_refuses_a_tag_name_too_long_to_keep_and_saves_nothing(user) -> None:  # type: ignore[no-untyped-def]
    Tag.objects.create(name=LONG_A[:60], slug="x" * 59 + "a")  # what the old code made of LONG_A
    before = _stored_originals()
    response = _api_create(user, tags=f"cube, {LONG_B}")
    assert response.status_code == 400
    assert response.json() == {"tags": [f"Tags are at most 60 characters; shorten “{LONG_B[:60]}…”."]}
    assert Pattern.objects.count() == 0
    assert PatternFile.objects.count() == 0
    assert list(Tag.objects.values_list("name", flat=True)) == [LONG_A[:60]]
    assert _stored_originals() == before


def test_sell_form_refuses_a_tag_name_too_long_to_keep_and_saves_nothing(client, user) -> None:  # type: ignore[no-untyped-def]
    response = _form_create(client, user, tags=LONG_B)
    assert response.status_code == 400
    assert response.json()["errors"]["tags"] == [
        {"message": f"Tags are at most 60 characters; shorten “{LONG_B[:60]}…”.", "code": "tag_too_long"}
    ]
    assert (Pattern.objects.count(), Tag.objects.count()) == (0, 0)


def test_tag_names_that_meet_an_existing_tag_join_it(user) -> None:  # type: ignore[no-untyped-def]
    # A moderator renamed a tag's slug in the admin: the name "Wood" is taken by the slug "timber".
    wood = Tag.objects.create(name="Wood", slug="timber")
    response = _api_create(user, tags="Wood, timber ,Wood")
    assert response.status_code == 201
    pattern = Pattern.objects.get()
    assert response.json()["tags"] == ["Wood"]
    assert list(pattern.tags.all()) == [wood]
    assert Tag.objects.count() == 1
    assert list(TagSuggestion.objects.values_list("tag_id", "source", "state")) == [(wood.pk, "creator", "accepted")]


def test_sell_form_refuses_a_malformed_upload_id_and_saves_nothing(client, user) -> None:  # type: ignore[no-untyped-def]
    before = _stored_originals()
    response = _form_create(client, user, uploads=["not-a-uuid\x00"])
    assert response.status_code == 400
    assert response.json()["errors"]["uploads"] == [
        {"message": "“not-a-uuid\\x00” is not an upload id; upload the file again.", "code": "invalid"}
    ]
    assert Pattern.objects.count() == 0
    assert _stored_originals() == before


def test_sell_form_without_javascript_shows_the_upload_id_error(client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.post(
        "/sell/new/", {"title": "Form cube", "price": "0", "currency": "USD", "licence": "cc0", "uploads": ["12"]}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "“12” is not an upload id; upload the file again." in html
    assert '<input type="hidden" name="uploads" value="12"' in html
    assert Pattern.objects.count() == 0


def test_sell_form_still_claims_a_completed_resumable_upload(client, user) -> None:  # type: ignore[no-untyped-def]
    content = samples.stl_cube()
    api = token_client(user)
    session_id = api.post("/api/v1/uploads/", {"filename": "big.stl", "size": len(content)}, format="json").json()["id"]
    put = api.put(
        f"/api/v1/uploads/{session_id}/",
        data=content,
        content_type="application/octet-stream",
        HTTP_CONTENT_RANGE=f"bytes 0-{len(content) - 1}/{len(content)}",
    )
    assert put.status_code == 200
    response = _form_create(client, user, files=[], uploads=[session_id], tags="cube")
    assert response.status_code == 200
    pattern = Pattern.objects.get()
    assert [f.original_name for f in pattern.files.all()] == ["big.stl"]
    assert [t.name for t in pattern.tags.all()] == ["cube"]
    assert UploadSession.objects.get().status == UploadSession.Status.CONSUMED
