"""Issue 11: delivery records download.served and leak.traced with their actor, and no longer writes analytics
rows itself: analytics counts downloads from the outbox."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.models import Event
from delivery import services
from delivery.models import DownloadEvent, LeakTrace, MarkedFile
from marketplace.events.models import EventRecord, HandlerReceipt
from marketplace.events.services import outbox_drain
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory, paid_entitlement

pytestmark = pytest.mark.django_db


def _served() -> list[tuple[str | None, dict[str, Any]]]:
    return [
        (r.actor_username or None, r.data) for r in EventRecord.objects.filter(type="download.served").order_by("id")
    ]


def test_a_file_download_records_download_served_by_the_buyer_and_one_analytics_row_after_commit() -> None:
    buyer = UserFactory.create(username="ines")
    pattern = PatternFactory.create(with_file=samples.blob_stl())
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    link = token_client(buyer).get("/api/v1/library/").json()[0]["files"][0]["download_url"]
    assert token_client(buyer).get(link).status_code == 200
    file_id = pattern.files.get().pk
    assert _served() == [
        (
            "ines",
            {
                "entitlement_id": entitlement.pk,
                "buyer_id": buyer.pk,
                "pattern_id": pattern.pk,
                "file_ids": [file_id],
                "kind": "file",
            },
        )
    ]
    downloads = Event.objects.filter(kind="download")
    assert downloads.count() == 0  # not written in the request any more
    assert outbox_drain() >= 1
    assert outbox_drain() == 0
    row = downloads.get()
    stored = EventRecord.objects.get(type="download.served")
    assert (row.user_id, row.pattern_id, row.metadata, row.created_at) == (
        buyer.pk,
        pattern.pk,
        {"pattern_file_id": file_id, "kind": "file"},
        stored.at,
    )
    receipt = HandlerReceipt.objects.get(event=stored, handler__startswith="analytics.")
    assert (receipt.handler, receipt.status, receipt.attempts) == ("analytics.handlers.download_record", "done", 1)


def test_a_whole_order_zip_records_one_download_served_per_pattern() -> None:
    buyer = UserFactory.create()
    first = paid_entitlement(buyer=buyer, pattern=PatternFactory.create(title="Alpha"), prepare=True)
    second = paid_entitlement(
        buyer=buyer, pattern=PatternFactory.create(title="Beta"), order=first.order_item.order, prepare=True
    )
    services.order_package_prepare(order=first.order_item.order)
    link = services.order_download_link_create(order=first.order_item.order)
    assert token_client(buyer).get(link).status_code == 200
    assert [(d["entitlement_id"], d["kind"], d["file_ids"]) for _a, d in _served()] == [
        (first.pk, "order", []),
        (second.pk, "order", []),
    ]
    outbox_drain()
    rows = Event.objects.filter(kind="download").order_by("pattern_id")
    assert [(r.pattern_id, r.metadata) for r in rows] == [
        (first.pattern_id, {"pattern_file_id": None, "kind": "order"}),
        (second.pattern_id, {"pattern_file_id": None, "kind": "order"}),
    ]
    assert DownloadEvent.objects.filter(kind="order").count() == 2


def test_a_refused_download_records_nothing_and_the_buyers_own_records_one() -> None:
    buyer, stranger = UserFactory.create(), UserFactory.create()
    entitlement = paid_entitlement(buyer=buyer, pattern=PatternFactory.create(), prepare=True)
    link = token_client(buyer).get("/api/v1/library/").json()[0]["files"][0]["download_url"]
    assert token_client(stranger).get(link).status_code == 404
    assert EventRecord.objects.filter(type="download.served").count() == 0
    assert token_client(buyer).get(link).status_code == 200
    assert [(stored.actor_id, stored.subject_id) for stored in EventRecord.objects.filter(type="download.served")] == [
        (buyer.pk, entitlement.pk)
    ]


def test_a_traced_leak_records_leak_traced_by_the_staff_member_who_uploaded_it(client: Any, staff: Any) -> None:
    buyer = UserFactory.create()
    pattern = PatternFactory.create(with_file=samples.blob_stl())
    entitlement = paid_entitlement(buyer=buyer, pattern=pattern, prepare=True)
    leaked = bytes(MarkedFile.objects.get(entitlement=entitlement).file.read())
    client.force_login(staff)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/admin/delivery/leaktrace/add/", {"suspect": SimpleUploadedFile("found.stl", leaked)})
    assert response.status_code == 302
    trace = LeakTrace.objects.get()
    [stored] = EventRecord.objects.filter(type="leak.traced")
    assert (stored.actor_id, stored.actor_username) == (staff.pk, staff.username)
    assert (stored.subject_type, stored.subject_id) == ("leak", trace.pk)
    assert stored.data == {"trace_id": trace.pk, "pattern_id": pattern.pk, "buyer_id": buyer.pk, "outcome": "traced"}


def test_an_untraced_file_from_the_command_line_records_leak_traced_by_no_one() -> None:
    from delivery.leaks import leak_trace_record

    trace = leak_trace_record(data=b"not a pattern file at all", file_name="junk.bin")
    [stored] = EventRecord.objects.filter(type="leak.traced")
    assert stored.actor_id is None
    assert stored.data == {"trace_id": trace.pk, "pattern_id": None, "buyer_id": None, "outcome": "not-traced"}
