"""The version flow on a real Celery worker: v2 is processed, approved, and reaches an earlier buyer as their copy."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog.models import PatternVersion
from delivery.leaks import leak_trace_record
from delivery.models import MarkedFile
from tests import samples
from tests.conftest import token_client, wait_for
from tests.factories import PatternFactory, StaffFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.e2e


def test_creator_ships_v2_and_the_earlier_buyer_downloads_their_own_copy(celery_worker_process: Any) -> None:
    creator, buyer, staff = UserFactory.create(), UserFactory.create(), StaffFactory.create()
    pattern = PatternFactory.create(creator=creator, with_file=samples.stl_cube())
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)

    creator_client = APIClient()
    creator_client.force_authenticate(creator)
    response = creator_client.post(
        f"/api/v1/patterns/{pattern.pk}/versions/",
        {"files": [SimpleUploadedFile("model-v2.stl", samples.blob_stl())], "changelog": "Stronger hinge"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"number": 2, "status": "processing"}

    def processed() -> str | None:
        status = PatternVersion.objects.get(pattern=pattern, number=2).status
        return None if status == "processing" else status

    assert wait_for(processed, timeout=120, what="the worker to process version 2") == "needs_review"

    staff_client = APIClient()
    staff_client.force_authenticate(staff)
    approved = staff_client.post(
        f"/api/v1/patterns/{pattern.pk}/versions/2/moderation/", {"action": "approve", "reason": ""}, format="json"
    )
    assert approved.status_code == 200, approved.content

    def copy_ready() -> bool:
        return MarkedFile.objects.filter(
            entitlement=entitlement, pattern_file__version__number=2, status="ready"
        ).exists()

    wait_for(copy_ready, timeout=120, what="the outbox and the delivery queue to prepare the buyer's copy of v2")
    library = token_client(buyer).get("/api/v1/library/").json()
    assert library[0]["version"] == 2
    v2_link = next(f["download_url"] for f in library[0]["files"] if f["version"] == 2)
    download = token_client(buyer).get(v2_link)
    assert download.status_code == 200
    body = b"".join(download.streaming_content) if download.streaming else download.content  # type: ignore[attr-defined]
    assert leak_trace_record(data=body, file_name="found.stl").entitlement == entitlement
