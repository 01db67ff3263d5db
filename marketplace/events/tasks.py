"""The outbox drain, on its own ``events`` queue."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from marketplace.events import services

# A drain that leaves receipts due within this many seconds schedules the next one itself (retries at 5 s do not
# wait for the beat); later ones are found by the beat schedule.
SELF_SCHEDULE_WITHIN_SECONDS = 120.0


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def outbox_drain() -> int:
    handled = services.outbox_drain()
    due_in = services.next_due_in_seconds()
    if due_in is not None and due_in <= SELF_SCHEDULE_WITHIN_SECONDS:
        countdown = max(due_in, 0.5)
        # One scheduled follow-up at a time, however many drains ran.
        if cache.add("events:outbox:follow-up", 1, timeout=int(countdown) + 1):
            outbox_drain.apply_async(countdown=countdown)
    return handled
