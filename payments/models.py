"""Payments domain: orders, their items, Stripe payments and the webhook events already handled."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Order(models.Model):
    """A buyer's purchase of one or more patterns, paid in one currency through one PaymentIntent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        CANCELLED = "cancelled", "Cancelled"

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    amount = models.PositiveIntegerField(help_text="Total in minor units.")
    currency = models.CharField(max_length=3)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"


class OrderItem(models.Model):
    """One pattern in an order, with the price and licence as they were when the order was placed."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    pattern = models.ForeignKey("catalog.Pattern", on_delete=models.PROTECT, related_name="order_items")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales")
    licence = models.ForeignKey("catalog.Licence", on_delete=models.PROTECT)
    price = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "pattern"], name="order_item_unique_pattern")]

    def __str__(self) -> str:
        return f"{self.pattern} in order #{self.order_id}"


class Payment(models.Model):
    """A settled Stripe payment for an order, as reported by Stripe's webhook."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Payment {self.stripe_payment_intent_id}"


class WebhookEvent(models.Model):
    """A Stripe event already processed; its id makes redelivery a no-op."""

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    processed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"
