"""Recording domain events and draining the outbox.

``record(event)`` is called by the service that makes a change, inside its ``transaction.atomic()``: the event row
and one pending receipt per outbox handler are written in that transaction (so an event exists if and only if its
change committed), inline handlers run there too, and after commit the ``events`` queue is asked to drain.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from marketplace.events.base import DomainEvent, event_from_record
from marketplace.events.models import EventRecord, HandlerReceipt
from marketplace.events.registry import registry

logger = logging.getLogger(__name__)


class EventOutsideTransaction(RuntimeError):
    """``record()`` was called outside ``transaction.atomic()``: the event could outlive a failed change."""


def _json_ready(data: dict[str, object]) -> dict[str, object]:
    """UUIDs, datetimes and decimals as JSON text, exactly as the JSON column will store them."""
    import json

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))  # type: ignore[no-any-return]


def record(event: DomainEvent) -> EventRecord:
    """Write ``event`` in the caller's transaction, run its inline handlers and queue its outbox handlers."""
    if not connection.in_atomic_block:
        raise EventOutsideTransaction(f"record({event.type}) must run inside the transaction of its change")
    if not event.type:
        raise TypeError(f"{type(event).__name__} has no event type")
    actor_username = ""
    if event.actor_id is not None:
        actor_username = (
            get_user_model().objects.filter(pk=event.actor_id).values_list("username", flat=True).first() or ""
        )
    subject_type, subject_id = event.subject_ref()
    stored = EventRecord.objects.create(
        uuid=event.event_id,
        type=event.type,
        actor_id=event.actor_id,
        actor_username=actor_username,
        at=event.at,
        data=_json_ready(event.data()),
        subject_type=subject_type,
        subject_id=subject_id,
    )
    handlers = registry()
    for handler in handlers.handlers_for(event, inline=True):
        handler.fn(event)
    outbox = handlers.handlers_for(event, inline=False)
    if outbox:
        HandlerReceipt.objects.bulk_create(
            [HandlerReceipt(event=stored, handler=handler.name, next_attempt_at=stored.at) for handler in outbox]
        )
        _drain_after_commit()
    return stored


def _drain_after_commit() -> None:
    """Ask for one drain per transaction, however many events it recorded."""
    if any(entry[1] is _kick_drain for entry in connection.run_on_commit):
        return
    transaction.on_commit(_kick_drain)


def _kick_drain() -> None:
    from marketplace.broker import infrastructure_errors
    from marketplace.events.tasks import outbox_drain

    try:
        outbox_drain.apply_async()
    except infrastructure_errors() as exc:
        # The receipts are saved; the beat schedule drains them when the broker is back.
        logger.warning("outbox: could not ask for a drain: %s", exc)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with ±20 % jitter, capped: 5 s, 10 s, 20 s ... up to an hour by default."""
    base = settings.TESSERA_OUTBOX_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    capped = min(base, settings.TESSERA_OUTBOX_RETRY_MAX_SECONDS)
    return timedelta(seconds=capped * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not a secret


def outbox_drain(*, limit: int = 500) -> int:
    """Run due outbox handlers, one receipt per transaction (locked, others skip it), at most ``limit``.
    A handler's writes and its receipt commit together; a failing handler's writes roll back to a savepoint and
    its receipt is rescheduled. Returns how many receipts were handled (done or failed)."""
    handled = 0
    handlers = registry()
    while handled < limit:
        with transaction.atomic():
            receipt = (
                HandlerReceipt.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("event")
                .filter(status=HandlerReceipt.Status.PENDING, next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at", "id")
                .first()
            )
            if receipt is None:
                break
            _run(receipt, handlers.by_name(receipt.handler))
        handled += 1
    return handled


def _run(receipt: HandlerReceipt, handler: object) -> None:
    receipt.attempts += 1
    now = timezone.now()
    fields = ["attempts", "status", "next_attempt_at", "last_error", "done_at"]
    if handler is None:
        receipt.status = HandlerReceipt.Status.DEAD
        receipt.last_error = f"no handler named {receipt.handler} is registered"
        receipt.save(update_fields=fields)
        logger.error("outbox: %s", receipt.last_error)
        return
    try:
        with transaction.atomic():
            handler.fn(event_from_record(receipt.event))  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any handler failure is recorded on its receipt and retried
        receipt.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if receipt.attempts >= settings.TESSERA_OUTBOX_MAX_ATTEMPTS:
            receipt.status = HandlerReceipt.Status.DEAD
            logger.error("outbox: %s gave up on event %s: %s", receipt.handler, receipt.event_id, receipt.last_error)
        else:
            receipt.next_attempt_at = now + retry_delay(receipt.attempts)
            logger.warning("outbox: %s failed on event %s: %s", receipt.handler, receipt.event_id, exc)
    else:
        receipt.status = HandlerReceipt.Status.DONE
        receipt.done_at = now
        receipt.last_error = ""
    receipt.save(update_fields=fields)


def next_due_in_seconds() -> float | None:
    """Seconds until the next pending receipt is due (0 if one is due now), or None if none is pending."""
    due = (
        HandlerReceipt.objects.filter(status=HandlerReceipt.Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if due is None:
        return None
    return max((due - timezone.now()).total_seconds(), 0.0)
