"""Webhook endpoints, the messages (deliveries) sent to them and each attempt at sending one."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

# What an attempt keeps of the receiver's answer.
RESPONSE_EXCERPT_CHARS = 1024


class Endpoint(models.Model):
    """A URL an outside system registered to receive events. A creator's endpoint receives events about their own
    patterns, sales and payouts; a staff member's, every event type of the marketplace.

    ``secret`` signs every message (``whsec_`` + base64); after a rotation ``previous_secret`` signs too until
    ``previous_secret_expires_at``, so the receiver can switch without losing a message."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Event types this endpoint receives, e.g. order.paid.")
    description = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    disabled_reason = models.CharField(max_length=300, blank=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # The first failed attempt since the last successful one; too long ago disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.url} ({self.owner_id})"

    def signing_secrets(self, *, now: datetime | None = None) -> list[str]:
        """The secrets that sign a message now: the current one, plus the previous one during its grace period."""
        moment = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > moment:
            secrets.append(self.previous_secret)
        return secrets


class Delivery(models.Model):
    """One event for one endpoint (a "message"). Its ``webhook_id`` (derived from the domain event's id) and its
    body stay the same across every retry and replay, so a receiver can drop duplicates."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_uuid = models.UUIDField()
    event_type = models.CharField(max_length=64)
    webhook_id = models.CharField(max_length=64)
    body = models.TextField(help_text="The JSON body exactly as signed and sent.")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    # Attempts in the current series (a replay starts a new one); the position in the retry schedule.
    attempt_count = models.PositiveIntegerField(default=0)
    # When the next attempt is due (pending), or until when a worker holds the send (claimed).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a send task was last queued for it (cleared when a worker takes it): the sweep leaves it alone meanwhile.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_uuid"], name="webhook_delivery_once")]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(status="pending")),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to endpoint #{self.endpoint_id}: {self.status}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what came back (or why nothing did)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=RESPONSE_EXCERPT_CHARS, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt on delivery #{self.delivery_id}: {self.status_code or self.error}"
