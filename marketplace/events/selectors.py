"""Reads of the event store: an object's history, the outbox backlog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q
from django.utils import timezone

from marketplace.events.models import EventRecord, HandlerReceipt


def event_history(*, subject_type: str, subject_id: int) -> list[EventRecord]:
    """Every event of one object, oldest first."""
    return list(EventRecord.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by("id"))


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    dead: int
    oldest_pending_at: datetime | None

    @property
    def oldest_pending_age_seconds(self) -> float:
        if self.oldest_pending_at is None:
            return 0.0
        return max((timezone.now() - self.oldest_pending_at).total_seconds(), 0.0)


def outbox_backlog() -> OutboxBacklog:
    """Receipts still to run and given up on: what /metrics reports and an alert watches."""
    counts = HandlerReceipt.objects.aggregate(
        pending=Count("id", filter=Q(status=HandlerReceipt.Status.PENDING)),
        dead=Count("id", filter=Q(status=HandlerReceipt.Status.DEAD)),
        oldest=Min("created_at", filter=Q(status=HandlerReceipt.Status.PENDING)),
    )
    return OutboxBacklog(pending=counts["pending"], dead=counts["dead"], oldest_pending_at=counts["oldest"])
