"""Resumable chunked uploads through the API."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Pattern, PatternFile
from ingestion.models import UploadSession
from ingestion.uploads import part_path
from tests import samples
from tests.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _put(client: Any, session_id: str, content: bytes, start: int, total: int) -> Any:
    return client.put(
        f"/api/v1/uploads/{session_id}/",
        data=content,
        content_type="application/octet-stream",
        HTTP_CONTENT_RANGE=f"bytes {start}-{start + len(content) - 1}/{total}",
    )


def test_chunked_upload_resumes_and_becomes_a_pattern() -> None:
    user = UserFactory.create()
    client = token_client(user)
    content = samples.stl_cube(25)
    started = client.post("/api/v1/uploads/", {"filename": "big cube.stl", "size": len(content)}, format="json")
    assert started.status_code == 201
    session_id = started.json()["id"]
    assert started.json()["offset"] == 0

    first = _put(client, session_id, content[:300], 0, len(content))
    assert first.json()["offset"] == 300
    # The connection dropped; the client sends a later chunk and is told where to resume.
    skipped = _put(client, session_id, content[500:], 500, len(content))
    assert skipped.status_code == 409
    assert skipped.json()["offset"] == 300
    # A retried chunk that already arrived changes nothing.
    assert _put(client, session_id, content[:300], 0, len(content)).json()["offset"] == 300
    assert client.get(f"/api/v1/uploads/{session_id}/").json()["offset"] == 300
    done = _put(client, session_id, content[300:], 300, len(content))
    assert done.json() == {**done.json(), "offset": len(content), "complete": True}

    created = client.post(
        "/api/v1/patterns/",
        {"title": "Chunked cube", "price": 0, "currency": "USD", "licence": "cc0", "uploads": [session_id]},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    stored = PatternFile.objects.get()
    assert stored.original_name == "big cube.stl"
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    session = UploadSession.objects.get(pk=session_id)
    assert session.status == "consumed"
    assert not part_path(session).exists()


def test_incomplete_or_foreign_uploads_are_refused() -> None:
    owner, other = UserFactory.create(), UserFactory.create()
    content = samples.stl_cube()
    session_id = (
        token_client(owner)
        .post("/api/v1/uploads/", {"filename": "a.stl", "size": len(content)}, format="json")
        .json()["id"]
    )
    _put(token_client(owner), session_id, content[:100], 0, len(content))
    data = {"title": "x", "price": 0, "currency": "USD", "licence": "cc0", "uploads": [session_id]}
    incomplete = token_client(owner).post("/api/v1/patterns/", data, format="multipart")
    assert incomplete.status_code == 400
    assert "the upload is not complete (100 of 684 bytes)" in incomplete.json()["uploads"][0]
    assert token_client(other).get(f"/api/v1/uploads/{session_id}/").status_code == 404
    assert _put(token_client(other), session_id, content[100:], 100, len(content)).status_code == 404
    foreign = token_client(other).post("/api/v1/patterns/", data, format="multipart")
    assert foreign.status_code == 400
    assert Pattern.objects.count() == 0


def test_bad_ranges_and_sizes_are_refused(settings) -> None:  # type: ignore[no-untyped-def]
    client = token_client(UserFactory.create())
    assert client.post("/api/v1/uploads/", {"filename": "a.stl", "size": 0}, format="json").status_code == 400
    settings.TESSERA_MAX_UPLOAD_BYTES = 1000
    assert client.post("/api/v1/uploads/", {"filename": "a.stl", "size": 5000}, format="json").status_code == 400
    session_id = client.post("/api/v1/uploads/", {"filename": "a.stl", "size": 10}, format="json").json()["id"]
    assert _put(client, session_id, b"x" * 20, 0, 10).status_code == 400
    no_range = client.put(f"/api/v1/uploads/{session_id}/", data=b"x", content_type="application/octet-stream")
    assert no_range.status_code == 400


def test_open_upload_sessions_are_limited_per_account(settings: Any) -> None:
    settings.TESSERA_MAX_OPEN_UPLOAD_SESSIONS = 5
    creator = UserFactory.create()
    client = token_client(creator)
    started = [
        client.post("/api/v1/uploads/", {"filename": f"part{n}.stl", "size": 1000}, format="json") for n in range(5)
    ]
    assert [response.status_code for response in started] == [201] * 5
    refused = client.post("/api/v1/uploads/", {"filename": "sixth.stl", "size": 1000}, format="json")
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "You already have 5 uploads in progress. Let one finish before starting another; "
        "an upload that receives nothing for 60 minutes stops counting.",
        "retry_after": 60,
    }
    assert refused["Retry-After"] == "60"
    assert UploadSession.objects.filter(user=creator).count() == 5
    # Another account has its own quota.
    other = token_client(UserFactory.create())
    assert other.post("/api/v1/uploads/", {"filename": "a.stl", "size": 10}, format="json").status_code == 201
    # A finished upload frees its place...
    first = started[0].json()["id"]
    assert _put(client, first, b"x" * 1000, 0, 1000).json()["complete"] is True
    assert client.post("/api/v1/uploads/", {"filename": "b.stl", "size": 10}, format="json").status_code == 201
    # ...and so does one abandoned for an hour.
    assert client.post("/api/v1/uploads/", {"filename": "c.stl", "size": 10}, format="json").status_code == 429
    UploadSession.objects.filter(pk=started[1].json()["id"]).update(updated_at=timezone.now() - timedelta(minutes=61))
    assert client.post("/api/v1/uploads/", {"filename": "c.stl", "size": 10}, format="json").status_code == 201
    assert UploadSession.objects.filter(user=creator).count() == 7
