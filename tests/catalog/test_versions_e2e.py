"""The version flow on a real Celery worker: v2 is processed, approved, and reaches an earlier buyer as their copy,
with a notification and an e-mail sent by the worker (the outbox on `events`, the mail on `notifications`)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from catalog.models import PatternVersion
from delivery.leaks import leak_trace_record
from delivery.models import MarkedFile
from notifications.models import OutgoingEmail
from notifications.services import unsubscribe_read
from tests import samples
from tests.conftest import token_client, wait_for
from tests.factories import PatternFactory, StaffFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.e2e


def _written(mail_dir: Path) -> list[EmailMessage]:
    """The e-mails the worker's file backend wrote (one file per connection; messages end with a line of dashes)."""
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk.lstrip(), policy=email.policy.default))
    return found  # type: ignore[return-value]


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _download(buyer: Any, url: str) -> bytes:
    response = token_client(buyer).get(url)
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]


def test_creator_ships_v2_and_the_earlier_buyer_downloads_their_own_copy(
    worker_mail_dir: Path, celery_worker_process: Any
) -> None:
    creator = UserFactory.create(username="mira", email="mira@example.com")
    buyer = UserFactory.create(username="early", email="early@example.com")
    staff = StaffFactory.create(email="")
    pattern = PatternFactory.create(creator=creator, title="Hinged box", with_file=samples.stl_cube())
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
    # Nobody is told anything before the version is approved.
    assert token_client(buyer).get("/api/v1/notifications/").json()["results"] == []

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

    # The earlier buyer downloads their own marked copy of v2 (traced to them), and v1 is still theirs.
    library = token_client(buyer).get("/api/v1/library/").json()
    assert library[0]["version"] == 2
    links = {f["version"]: f["download_url"] for f in library[0]["files"]}
    assert sorted(links) == [1, 2]
    v2_copy = _download(buyer, links[2])
    v2_trace = leak_trace_record(data=v2_copy, file_name="found-v2.stl")
    assert v2_trace.entitlement == entitlement
    assert v2_trace.result["buyer"] == "early"
    assert leak_trace_record(data=_download(buyer, links[1]), file_name="found-v1.stl").entitlement == entitlement

    # The worker told both, and sent both e-mails from the notifications queue (written by its file backend; the
    # locmem outbox of this process sees none of it).
    wait_for(
        lambda: OutgoingEmail.objects.filter(status="sent").count() == 2 or None,
        timeout=60,
        what="the worker to send the buyer's and the creator's e-mails",
    )
    notified = token_client(buyer).get("/api/v1/notifications/").json()["results"]
    assert [(n["type"], n["message"], n["url"], n["read"]) for n in notified] == [
        (
            "pattern.version_published",
            "Version 2 of “Hinged box” is in your library: Stronger hinge",
            "/library/",
            False,
        )
    ]
    told_creator = token_client(creator).get("/api/v1/notifications/").json()["results"]
    assert [(n["type"], n["message"], n["url"]) for n in told_creator] == [
        (
            "pattern.approved",
            "Version 2 of “Hinged box” was approved: earlier buyers get it in their library.",
            pattern.get_absolute_url(),
        )
    ]
    assert token_client(staff).get("/api/v1/notifications/").json()["results"] == []
    assert mail.outbox == []

    by_recipient = {message["To"]: message for message in _written(worker_mail_dir)}
    assert sorted(by_recipient) == ["early@example.com", "mira@example.com"]
    to_buyer = by_recipient["early@example.com"]
    assert to_buyer["Subject"] == "Tessera: New versions of patterns you bought"
    assert "http://" in _text(to_buyer)
    assert "/library/" in _text(to_buyer)
    assert "Version 2 of “Hinged box” is in your library: Stronger hinge" in _text(to_buyer)
    # The one-click link (signed, no sign-in needed) turns off exactly this type for exactly this buyer.
    unsubscribe = str(to_buyer["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<http://")
    assert unsubscribe.endswith("/>")
    token = unsubscribe.removesuffix("/>").rsplit("/", 1)[1]
    assert unsubscribe_read(token) == (buyer.pk, "pattern.version_published")
    assert to_buyer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert by_recipient["mira@example.com"]["Subject"] == "Tessera: Your pattern was approved"
