"""Pattern versions (issue 12): a creator ships version 2, staff review it, earlier buyers get their own copy."""

from __future__ import annotations

import io
from typing import Any

import pytest
import trimesh
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from catalog import selectors as catalog_selectors
from catalog.models import Pattern, PatternFile, PatternVersion
from delivery.leaks import leak_trace_record
from delivery.models import Entitlement, MarkedFile
from delivery.services import entitlement_prepare
from ingestion import services as ingestion_services
from marketplace.events.models import EventRecord
from marketplace.events.services import outbox_drain
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, StaffFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def _client(user: Any) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _post_version(client: APIClient, pattern: Pattern, content: bytes, changelog: str = "Thicker walls") -> Any:
    return client.post(
        f"/api/v1/patterns/{pattern.pk}/versions/",
        {"files": [SimpleUploadedFile("model-v2.stl", content)], "changelog": changelog},
        format="multipart",
    )


def _process(pattern: Pattern, number: int) -> PatternVersion:
    """Run the version's ingestion in-process (the same tasks a worker runs; the e2e test uses a worker)."""
    version = PatternVersion.objects.get(pattern=pattern, number=number)
    for pattern_file in version.files.all():
        ingestion_services.pattern_file_process(pattern_file_id=pattern_file.pk)
    result = ingestion_services.version_finalize(version_id=version.pk)
    assert result is not None
    return result


def _library(buyer: Any) -> list[dict[str, Any]]:
    response = _client(buyer).get("/api/v1/library/")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _download(buyer: Any, url: str) -> bytes:
    response = token_client(buyer).get(url)
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]


@pytest.fixture
def shop() -> dict[str, Any]:
    creator = UserFactory.create()
    pattern = PatternFactory.create(creator=creator, with_file=samples.stl_cube())
    buyers = [UserFactory.create() for _ in range(2)]
    entitlements = [paid_entitlement(buyer=b, pattern=pattern, prepare=True) for b in buyers]
    return {"creator": creator, "pattern": pattern, "buyers": buyers, "entitlements": entitlements}


def test_versions_are_numbered_from_the_original_upload(shop: dict[str, Any]) -> None:
    pattern, creator = shop["pattern"], shop["creator"]
    response = _post_version(_client(creator), pattern, samples.blob_stl())
    assert response.status_code == 201, response.content
    assert response.json() == {"number": 2, "status": "processing"}
    # One version at a time: a second one waits until the first is decided.
    again = _post_version(_client(creator), pattern, samples.blob_stl())
    assert again.status_code == 400
    assert PatternVersion.objects.filter(pattern=pattern).count() == 2
    listed = _client(creator).get(f"/api/v1/patterns/{pattern.pk}/versions/").json()
    assert [(v["number"], v["status"]) for v in listed] == [(1, "published"), (2, "processing")]
    assert [f["name"] for f in listed[0]["files"]] == ["model.stl"]
    assert [f["name"] for f in listed[1]["files"]] == ["model-v2.stl"]
    assert listed[1]["changelog"] == "Thicker walls"
    submitted = EventRecord.objects.get(type="pattern.version_submitted")
    assert (submitted.actor_id, submitted.data["version"]) == (creator.pk, 2)
    # Others see only what is published, and the pattern still sells version 1.
    public = _client(None).get(f"/api/v1/patterns/{pattern.pk}/versions/").json()
    assert [v["number"] for v in public] == [1]
    assert _client(None).get(f"/api/v1/patterns/{pattern.pk}/versions/2/").status_code == 404
    assert _client(creator).get(f"/api/v1/patterns/{pattern.pk}/versions/2/").json()["number"] == 2
    assert list(
        catalog_selectors.pattern_files_current(pattern_id=pattern.pk).values_list("original_name", flat=True)
    ) == ["model.stl"]


def test_only_the_creator_posts_versions_and_only_staff_moderate(shop: dict[str, Any]) -> None:
    pattern, buyer = shop["pattern"], shop["buyers"][0]
    assert _post_version(_client(buyer), pattern, samples.blob_stl()).status_code == 403
    assert _post_version(_client(None), pattern, samples.blob_stl()).status_code in (401, 403)
    hidden = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW)
    assert _post_version(_client(buyer), hidden, samples.blob_stl()).status_code == 404
    assert not PatternVersion.objects.filter(number__gt=1).exists()
    assert _post_version(_client(shop["creator"]), pattern, samples.blob_stl()).status_code == 201
    _process(pattern, 2)
    url = f"/api/v1/patterns/{pattern.pk}/versions/2/moderation/"
    assert _client(buyer).post(url, {"action": "approve"}, format="json").status_code == 403
    assert _client(shop["creator"]).post(url, {"action": "approve"}, format="json").status_code == 403
    assert PatternVersion.objects.get(pattern=pattern, number=2).status == "needs_review"
    assert not EventRecord.objects.filter(type="pattern.version_published").exists()


def test_a_rejected_version_leaves_the_current_one_on_sale(shop: dict[str, Any]) -> None:
    pattern, staff = shop["pattern"], StaffFactory.create()
    assert _post_version(_client(shop["creator"]), pattern, samples.blob_stl()).status_code == 201
    assert _process(pattern, 2).status == "needs_review"
    url = f"/api/v1/patterns/{pattern.pk}/versions/2/moderation/"
    assert _client(staff).post(url, {"action": "reject", "reason": ""}, format="json").status_code == 400
    response = _client(staff).post(url, {"action": "reject", "reason": "The file is a copy."}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    rejected = EventRecord.objects.get(type="pattern.version_rejected")
    assert (rejected.actor_id, rejected.data["reason"]) == (staff.pk, "The file is a copy.")
    assert list(
        catalog_selectors.pattern_files_current(pattern_id=pattern.pk).values_list("original_name", flat=True)
    ) == ["model.stl"]
    entry = _library(shop["buyers"][0])[0]
    assert entry["version"] == 1
    assert [f["name"] for f in entry["files"]] == ["model.stl"]
    newcomer = UserFactory.create()
    late = paid_entitlement(buyer=newcomer, pattern=pattern, prepare=True)
    assert list(late.marked_files.values_list("pattern_file__original_name", flat=True)) == ["model.stl"]


def _moved(data: bytes) -> bytes:
    loaded: Any = trimesh.load(io.BytesIO(data), file_type="stl")
    loaded.apply_transform(trimesh.transformations.rotation_matrix(0.7, [0.3, 1, 0.2]))
    loaded.apply_translation([50, -20, 3])
    return str(loaded.export(file_type="obj")).encode()


def test_approval_gives_each_earlier_buyer_their_own_copy_of_version_2(shop: dict[str, Any]) -> None:
    pattern, staff = shop["pattern"], StaffFactory.create()
    assert _post_version(_client(shop["creator"]), pattern, samples.blob_stl()).status_code == 201
    _process(pattern, 2)
    url = f"/api/v1/patterns/{pattern.pk}/versions/2/moderation/"
    response = _client(staff).post(url, {"action": "approve", "reason": ""}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "published"
    published = EventRecord.objects.get(type="pattern.version_published")
    assert (published.actor_id, published.data["version"], published.data["changelog"]) == (
        staff.pk,
        2,
        "Thicker walls",
    )
    outbox_drain()  # delivery's handler queues each earlier buyer's preparation (on the delivery queue)
    v2_file = PatternFile.objects.get(version__pattern=pattern, version__number=2)
    for entitlement in shop["entitlements"]:
        entitlement_prepare(entitlement=Entitlement.objects.get(pk=entitlement.pk))  # what the delivery task runs
    for buyer, entitlement in zip(shop["buyers"], shop["entitlements"], strict=True):
        entry = _library(buyer)[0]
        assert entry["version"] == 2
        assert [v["number"] for v in entry["versions"]] == [1, 2]
        by_version = {f["version"]: f for f in entry["files"]}
        assert set(by_version) == {1, 2}
        v2 = _download(buyer, by_version[2]["download_url"])
        v1 = _download(buyer, by_version[1]["download_url"])  # earlier versions stay downloadable
        assert v1 == bytes(MarkedFile.objects.get(entitlement=entitlement, pattern_file__version__number=1).file.read())
        marked = MarkedFile.objects.get(entitlement=entitlement, pattern_file=v2_file)
        assert marked.status == "ready"
        assert v2 == bytes(marked.file.read())
        trace = leak_trace_record(data=_moved(v2), file_name="found.obj")
        assert trace.entitlement == entitlement, trace.result
    # Two buyers, two different copies of version 2.
    copies = set(MarkedFile.objects.filter(pattern_file=v2_file).values_list("sha256", flat=True))
    assert len(copies) == 2
    # A buyer after version 2 gets version 2 (and the zip holds the current version only).
    newcomer = UserFactory.create()
    late = paid_entitlement(buyer=newcomer, pattern=pattern, prepare=True)
    assert late.marked_files.filter(pattern_file=v2_file, status="ready").exists()
    assert _library(newcomer)[0]["version"] == 2
    browser = Client()
    browser.force_login(shop["buyers"][0])
    library_page = browser.get("/library/")
    assert library_page.status_code == 200
    assert "Version 2: Thicker walls" in library_page.content.decode()
    page = _client(None).get(f"/p/{pattern.slug}/")
    assert page.status_code == 200
    assert "Thicker walls" in page.content.decode()


def test_the_moderation_console_lists_and_decides_new_versions(client: Any, shop: dict[str, Any]) -> None:
    pattern, staff = shop["pattern"], StaffFactory.create()
    assert _post_version(_client(shop["creator"]), pattern, samples.blob_stl()).status_code == 201
    version = _process(pattern, 2)
    client.force_login(staff)
    page = client.get("/admin/catalog/reviewqueue/console/")
    assert page.status_code == 200
    assert "Approve version 2" in page.content.decode()
    decide = f"/admin/catalog/reviewqueue/console/versions/{version.pk}/decide/"
    # Rejecting needs a reason: nothing changes without one.
    assert client.post(decide, {"action": "reject", "note": ""}).status_code == 302
    assert PatternVersion.objects.get(pk=version.pk).status == "needs_review"
    assert client.post(decide, {"action": "approve"}).status_code == 302
    assert PatternVersion.objects.get(pk=version.pk).status == "published"
    assert EventRecord.objects.get(type="pattern.version_published").actor_id == staff.pk
    client.force_login(shop["buyers"][0])
    assert client.post(decide, {"action": "approve"}).status_code in (302, 403)
