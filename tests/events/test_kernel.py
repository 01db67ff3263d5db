"""The event kernel: recording in the transaction of the change, inline handlers, the outbox and its receipts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from marketplace.events import record
from marketplace.events.base import event_from_record
from marketplace.events.models import EventRecord, HandlerReceipt
from marketplace.events.selectors import event_history, outbox_backlog
from marketplace.events.services import EventOutsideTransaction, outbox_drain
from tests.events.kernel_fixtures import Pinged, Ponged, Refused
from tests.factories import UserFactory

REGISTRY = "tests.events.kernel_fixtures.registry"


@pytest.fixture(autouse=True)
def _test_registry(settings):  # type: ignore[no-untyped-def]
    settings.TESSERA_EVENT_REGISTRY = REGISTRY
    settings.TESSERA_OUTBOX_MAX_ATTEMPTS = 3
    cache.delete("test:pong-failures")


def pongs() -> int:
    return EventRecord.objects.filter(type=Ponged.type).count()


@pytest.mark.django_db
def test_an_event_is_stored_with_its_actor_subject_and_one_receipt_per_outbox_handler() -> None:
    creator = UserFactory.create(username="mira")
    with transaction.atomic():
        stored = record(Pinged(pattern_id=42, note="hello", actor_id=creator.pk))
    assert stored.type == "test.pinged"
    assert (stored.actor_id, stored.actor_username) == (creator.pk, "mira")
    assert (stored.subject_type, stored.subject_id) == ("pattern", 42)
    assert stored.data == {"pattern_id": 42, "note": "hello"}
    receipts = list(HandlerReceipt.objects.filter(event=stored).values_list("handler", "status", "attempts"))
    assert receipts == [("tests.events.kernel_fixtures.pong", "pending", 0)]
    again = event_from_record(EventRecord.objects.get(pk=stored.pk))
    assert again == Pinged(pattern_id=42, note="hello", actor_id=creator.pk, at=stored.at, event_id=stored.uuid)
    assert [event.pk for event in event_history(subject_type="pattern", subject_id=42)] == [stored.pk]


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused_and_writes_nothing() -> None:
    assert not connection.in_atomic_block
    with pytest.raises(EventOutsideTransaction):
        record(Pinged(pattern_id=1))
    assert EventRecord.objects.count() == 0


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_event_and_no_receipt() -> None:
    def change_that_fails() -> None:
        with transaction.atomic():
            record(Pinged(pattern_id=7))
            raise ZeroDivisionError  # the change fails after its event was recorded

    with pytest.raises(ZeroDivisionError):
        change_that_fails()
    assert EventRecord.objects.count() == 0
    assert HandlerReceipt.objects.count() == 0


@pytest.mark.django_db
def test_a_failing_inline_handler_rolls_the_change_back() -> None:
    with pytest.raises(ValueError, match="not allowed"), transaction.atomic():
        record(Refused())
    assert EventRecord.objects.count() == 0


@pytest.mark.django_db
def test_the_outbox_runs_a_handler_once_however_often_it_drains() -> None:
    with transaction.atomic():
        ping = record(Pinged(pattern_id=3))
    assert outbox_drain() == 1
    assert outbox_drain() == 0
    assert pongs() == 1
    assert EventRecord.objects.get(type=Ponged.type).data == {"ping_id": str(ping.uuid)}
    receipt = HandlerReceipt.objects.get(event=ping)
    assert (receipt.status, receipt.attempts, receipt.last_error) == ("done", 1, "")
    assert receipt.done_at is not None


@pytest.mark.django_db
def test_a_failing_handler_is_retried_later_without_repeating_its_side_effect() -> None:
    cache.set("test:pong-failures", 1)
    with transaction.atomic():
        ping = record(Pinged(pattern_id=3))
    before = timezone.now()
    assert outbox_drain() == 1
    receipt = HandlerReceipt.objects.get(event=ping)
    assert (receipt.status, receipt.attempts) == ("pending", 1)
    assert receipt.last_error == "RuntimeError: receiver down"
    # Retried after the first backoff step (5 s ± 20 %), not at once: the failed attempt's write rolled back.
    assert before + timedelta(seconds=3.9) <= receipt.next_attempt_at <= before + timedelta(seconds=7)
    assert pongs() == 0
    assert outbox_drain() == 0
    assert outbox_backlog().pending == 1
    HandlerReceipt.objects.filter(pk=receipt.pk).update(next_attempt_at=timezone.now())
    assert outbox_drain() == 1
    receipt.refresh_from_db()
    assert (receipt.status, receipt.attempts, receipt.last_error) == ("done", 2, "")
    assert pongs() == 1
    assert outbox_backlog().pending == 0


@pytest.mark.django_db
def test_a_handler_that_keeps_failing_is_given_up_on_and_counted() -> None:
    cache.set("test:pong-failures", 10)
    with transaction.atomic():
        ping = record(Pinged(pattern_id=3))
    for _ in range(3):
        HandlerReceipt.objects.filter(event=ping).update(next_attempt_at=timezone.now())
        outbox_drain()
    receipt = HandlerReceipt.objects.get(event=ping)
    assert (receipt.status, receipt.attempts) == ("dead", 3)
    backlog = outbox_backlog()
    assert (backlog.pending, backlog.dead) == (0, 1)
    assert pongs() == 0


@pytest.mark.django_db
def test_a_receipt_whose_handler_was_removed_is_given_up_on_with_a_reason() -> None:
    with transaction.atomic():
        ping = record(Pinged(pattern_id=3))
    HandlerReceipt.objects.filter(event=ping).update(handler="tests.gone")
    assert outbox_drain() == 1
    receipt = HandlerReceipt.objects.get(event=ping)
    assert (receipt.status, receipt.last_error) == ("dead", "no handler named tests.gone is registered")


@pytest.mark.django_db
def test_the_event_store_refuses_updates_and_deletes() -> None:
    with transaction.atomic():
        stored = record(Pinged(pattern_id=3))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EventRecord.objects.filter(pk=stored.pk).update(type="test.forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_eventrecord WHERE id = %s", [stored.pk])
    assert EventRecord.objects.get(pk=stored.pk).type == "test.pinged"


@pytest.mark.django_db
def test_the_backlog_is_on_metrics(client) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client.parser import text_string_to_metric_families

    cache.set("test:pong-failures", 10)
    with transaction.atomic():
        record(Pinged(pattern_id=1))
        record(Pinged(pattern_id=2))
    HandlerReceipt.objects.filter(event__data__pattern_id=2).update(status=HandlerReceipt.Status.DEAD)
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name.startswith("tessera_outbox")
    }
    assert samples["tessera_outbox_backlog"] == 1.0
    assert samples["tessera_outbox_dead"] == 1.0
    assert samples["tessera_outbox_oldest_pending_seconds"] >= 0.0
