"""The event store (append-only, also the audit history) and the outbox receipts."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class EventRecord(models.Model):
    """One domain event, written in the transaction of the change it describes; never updated or deleted
    (a database trigger refuses both). ``actor_id`` and ``actor_username`` are copied, not a foreign key, so
    the history outlives an account."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.JSONField(default=dict)
    # The object whose history this event belongs to ("pattern", 42), when it has one.
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "id"], name="event_subject")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class HandlerReceipt(models.Model):
    """One (event, outbox handler) pair: pending until the handler ran, done once it did (in the same
    transaction as the handler's own writes, so a re-run never repeats them), dead after too many failures."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        DEAD = "dead", "Gave up"

    event = models.ForeignKey(EventRecord, on_delete=models.PROTECT, related_name="receipts")
    handler = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="receipt_once_per_handler")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="receipt_due",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler} for event #{self.event_id}: {self.status}"
