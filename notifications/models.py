"""Notifications, per-type e-mail preferences and the outgoing e-mails (sent on the ``notifications`` queue)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

TYPES = {
    "pattern.approved": "Your pattern was approved",
    "pattern.rejected": "Your pattern was rejected",
    "pattern.failed": "Your pattern could not be processed",
    "copy.flagged": "A possible copy was flagged (staff)",
    "sale": "You made a sale",
    "order.receipt": "Order receipts",
    "order.refunded": "Refunds",
    "payout.paid": "Payouts sent",
    "payout.failed": "Payouts that failed",
    "pattern.version_published": "New versions of patterns you bought",
    "review.created": "New reviews of your patterns",
    "new_pattern": "New patterns from creators you follow",
    "demand.digest": "Weekly digest: what buyers searched for in your categories and nobody sells (creators)",
    # --- Takedowns (issue 14, h/trust) ---
    "takedown.received": "Your takedown notice was received",
    "takedown.decision": "A decision on your takedown notice",
    "takedown.removed": "Your listing was removed after a notice",
    "takedown.countered": "A counter-notice to your takedown notice",
    "takedown.restored": "Your listing was restored",
    "takedown.complaint": "Your complaint about a moderation decision",
    "takedown.strike": "Your selling account (repeat-infringer policy)",
}
# Types a person must ask for (no preference row: neither the notification nor its e-mail); every other type is
# on until turned off.
OPT_IN_TYPES = {"demand.digest"}
# Legal notices (a statement of reasons under DSA Art. 17, a counter-notice under §512(g)) must reach the person:
# their e-mail cannot be turned off, and they are not offered on the preferences page.
REQUIRED_EMAIL_TYPES = frozenset(
    {
        "takedown.received",
        "takedown.decision",
        "takedown.removed",
        "takedown.countered",
        "takedown.restored",
        "takedown.complaint",
        "takedown.strike",
    }
)


class Notification(models.Model):
    """One thing one person was told. ``event_id``: the domain event it came from; one per (event, person, type),
    so an outbox retry or a re-drain never tells anyone twice."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    type = models.CharField(max_length=40)
    message = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    event_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "recipient", "type"], name="notification_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.type} → {self.recipient_id}"


class EmailPreference(models.Model):
    """A person's choice for one type (no row: e-mail on)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences")
    type = models.CharField(max_length=40)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "type"], name="email_preference_once")]

    def __str__(self) -> str:
        return f"{self.type} e-mail {'on' if self.enabled else 'off'} for {self.user_id}"


class OutgoingEmail(models.Model):
    """The e-mail of a notification: written with it, sent by ``notifications.tasks.email_send``.

    Or an e-mail to an address with no account behind it (a takedown claimant: issue 14): then ``notification`` is
    empty and the e-mail carries its own ``type``, ``message``, ``url`` and ``event_id`` (once per (event, address,
    type), like a notification)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="email", null=True, blank=True
    )
    to = models.EmailField()
    # Only for an e-mail to an address (no notification): what it says and the event it came from.
    type = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    event_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="pending"), name="outgoing_email_pending"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "to", "type"],
                condition=models.Q(notification__isnull=True),
                name="outgoing_email_once_per_event_address",
            ),
            models.CheckConstraint(
                condition=models.Q(notification__isnull=False)
                | (models.Q(event_id__isnull=False) & ~models.Q(type="")),
                name="outgoing_email_notification_or_own_content",
            ),
        ]

    def __str__(self) -> str:
        return f"e-mail {self.pk} to {self.to} ({self.status})"
