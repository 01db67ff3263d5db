"""Issue 12 walk-through: the creator ships a new version from the status page (no page existed, only the API)."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import PatternVersion
from ingestion import services as ingestion_services
from marketplace.events.models import EventRecord
from tests import samples
from tests.factories import PatternFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def _upload(client: Client, pattern: Any, files: list[Any], changelog: str = "Thicker walls") -> Any:
    return client.post(f"/sell/patterns/{pattern.pk}/versions/new/", {"files": files, "changelog": changelog})


def _stl(name: str = "model-v2.stl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, samples.blob_stl())


def _submitted(pattern: Any) -> int:
    return EventRecord.objects.filter(type="pattern.version_submitted", subject_id=pattern.pk).count()


@pytest.fixture
def creator_client() -> tuple[Client, Any]:
    creator = UserFactory.create(username="mira")
    pattern = PatternFactory.create(creator=creator, title="Lamp", with_file=samples.stl_cube())
    client = Client()
    client.force_login(creator)
    return client, pattern


def test_the_status_page_ships_a_version_shows_its_progress_and_a_rejection_with_its_reason(
    creator_client: tuple[Client, Any],
) -> None:
    client, pattern = creator_client
    page = client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    assert f"<title>{pattern.title} — published · Tessera</title>" in page  # its status, not always "processing"
    assert 'id="versions-title">Versions</h2>' in page
    assert 'id="version-1"' in page
    assert "Upload a new version" in page
    assert f'action="/sell/patterns/{pattern.pk}/versions/new/#new-version"' in page
    assert 'enctype="multipart/form-data"' in page

    response = _upload(client, pattern, [_stl()], "Thicker walls\nand a longer cord")
    assert response.status_code == 302
    assert response["Location"] == f"/sell/patterns/{pattern.pk}/"
    version = PatternVersion.objects.get(pattern=pattern, number=2)
    assert (version.status, version.changelog) == ("processing", "Thicker walls\nand a longer cord")
    assert list(version.files.values_list("original_name", flat=True)) == ["model-v2.stl"]
    assert _submitted(pattern) == 1
    page = client.get(response["Location"]).content.decode()
    assert "Version 2 is uploaded: its files are checked, then a moderator reviews it." in page
    assert "Version 2 is <strong" in page
    assert "its files are being checked" in page
    assert "Upload a new version" not in page  # one at a time
    assert "model-v2.stl" in page
    assert "Thicker walls<br>and a longer cord" in page
    status = client.get(f"/sell/patterns/{pattern.pk}/status.json").json()
    assert status["version"] == {
        "number": 2,
        "status": "processing",
        "status_display": "Processing",
        "status_reason": "",
    }
    assert status["done"] is False  # the page keeps polling while the version's files are checked

    for pattern_file in version.files.all():
        ingestion_services.pattern_file_process(pattern_file_id=pattern_file.pk)
    assert ingestion_services.version_finalize(version_id=version.pk).status == "needs_review"  # type: ignore[union-attr]
    assert client.get(f"/sell/patterns/{pattern.pk}/status.json").json()["done"] is True
    staff = APIClient()
    staff.force_authenticate(StaffFactory.create())
    url = f"/api/v1/patterns/{pattern.pk}/versions/2/moderation/"
    assert staff.post(url, {"action": "reject", "reason": "The hook is missing."}, format="json").status_code == 200
    page = client.get(f"/sell/patterns/{pattern.pk}/").content.decode()
    assert "<strong>Reason for rejection:</strong> The hook is missing." in page
    assert "Upload a new version" in page  # decided: the next one may come
    assert 'id="version-live"' not in page


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no files", "Send at least one file."),
        ("bad file", "notes.stl: "),
        ("in progress", "A version of this pattern is already being processed or reviewed."),
        ("not published", "New versions are for published patterns; this one is unpublished."),
    ],
)
def test_a_refused_version_shows_why_on_the_page_keeps_the_changelog_and_stores_nothing(
    creator_client: tuple[Client, Any], case: str, message: str
) -> None:
    client, pattern = creator_client
    files = [_stl()]
    if case == "no files":
        files = []
    elif case == "bad file":
        files = [SimpleUploadedFile("notes.stl", b"this is not a mesh at all")]
    elif case == "in progress":
        assert _upload(client, pattern, [_stl()], "first").status_code == 302
    else:
        catalog_services.pattern_unpublish(pattern=pattern, actor=pattern.creator)
    before = (PatternVersion.objects.filter(pattern=pattern).count(), _submitted(pattern))

    response = _upload(client, pattern, files, "Fixed <the> hook & cord")
    assert response.status_code == 400
    page = response.content.decode()
    assert message in html.unescape(page)
    assert ">Fixed &lt;the&gt; hook &amp; cord</textarea>" in page
    assert 'id="new-version"' in page
    assert (PatternVersion.objects.filter(pattern=pattern).count(), _submitted(pattern)) == before


def test_only_the_creator_uploads_versions_with_a_csrf_token(creator_client: tuple[Client, Any]) -> None:
    _, pattern = creator_client
    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert _upload(stranger, pattern, [_stl()]).status_code == 403
    anonymous = _upload(Client(), pattern, [_stl()])
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    unseen = PatternFactory.create(status="rejected")
    assert _upload(stranger, unseen, [_stl()]).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(pattern.creator)
    assert _upload(strict, pattern, [_stl()]).status_code == 403
    assert not PatternVersion.objects.filter(number__gt=1).exists()
    assert _submitted(pattern) == 0
