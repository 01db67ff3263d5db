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
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"
        DISPUTED = "disputed", "Disputed"

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING, db_index=True)
    amount = models.PositiveIntegerField(help_text="Total in minor units.")
    currency = models.CharField(max_length=3)
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=255, blank=True)
    failure_reason = models.TextField(blank=True)
    amount_refunded = models.PositiveIntegerField(default=0)
    tax_amount = models.PositiveIntegerField(default=0, help_text="Tax in the total (Stripe Tax), minor units.")
    tax_calculation_id = models.CharField(max_length=255, blank=True)
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
    platform_fee = models.PositiveIntegerField(default=0, help_text="Tessera's share of the price, minor units.")
    already_owned = models.BooleanField(
        default=False,
        help_text="The buyer already owned the pattern when the order was paid: the line is refunded, not granted.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "pattern"], name="order_item_unique_pattern"),
            models.CheckConstraint(condition=models.Q(platform_fee__lte=models.F("price")), name="fee_within_price"),
        ]

    def __str__(self) -> str:
        return f"{self.pattern} in order #{self.order_id}"

    @property
    def creator_share(self) -> int:
        return self.price - self.platform_fee


class Payment(models.Model):
    """A settled Stripe payment for an order, as reported by Stripe's webhook."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32)
    card_brand = models.CharField(max_length=20, blank=True, help_text="As Stripe reported it, for the receipt.")
    card_last4 = models.CharField(max_length=4, blank=True, help_text="As Stripe reported it, for the receipt.")
    # The card's issuing country (ISO 3166-1 alpha-2) as Stripe reports it: the buyer's country in creator insights.
    card_country = models.CharField(max_length=2, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Payment {self.stripe_payment_intent_id}"


class WebhookEvent(models.Model):
    """A Stripe event already received; its id makes redelivery a no-op.

    An event about a payment Tessera has not seen succeed yet (a refund or dispute that overtook
    ``payment_intent.succeeded``) is kept with ``waiting_for`` set to its PaymentIntent and applied
    when that payment succeeds.
    """

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    processed_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=40, blank=True)
    waiting_for = models.CharField(
        max_length=255, blank=True, db_index=True, help_text="The PaymentIntent this event waits for, if any."
    )

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class LedgerAccount(models.Model):
    """One account of the double-entry ledger: Tessera's Stripe balance, its fees, or a creator's earnings."""

    class Kind(models.TextChoices):
        STRIPE_BALANCE = "stripe_balance", "Stripe balance (asset)"
        PLATFORM_FEES = "platform_fees", "Platform fees (revenue)"
        TAX_PAYABLE = "tax_payable", "Tax collected (liability)"
        CREATOR_PAYABLE = "creator_payable", "Owed to creator (liability)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "creator", "currency"], nulls_distinct=False, name="ledger_account_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="creator_payable", creator__isnull=False)
                | (~models.Q(kind="creator_payable") & models.Q(creator__isnull=True)),
                name="ledger_account_creator_iff_payable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.creator_id or '-'}:{self.currency}"


class LedgerTransaction(models.Model):
    """A balanced set of entries; ``reference`` makes recording the same business event twice impossible."""

    class Kind(models.TextChoices):
        SALE = "sale", "Sale"
        REFUND = "refund", "Refund"
        DISPUTE = "dispute", "Dispute (funds withdrawn)"
        DISPUTE_WON = "dispute_won", "Dispute won (funds returned)"
        PAYOUT = "payout", "Payout to creator"
        PAYOUT_REVERSAL = "payout_reversal", "Failed payout returned"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    reference = models.CharField(max_length=120, unique=True)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger")
    stripe_object_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.reference


class LedgerEntry(models.Model):
    """A debit (positive) or credit (negative) to one account; a transaction's entries sum to zero."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_entry_not_zero")]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount}"


class Refund(models.Model):
    """Money returned to a buyer, as Stripe reported it."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Refund {self.stripe_refund_id}"


class Dispute(models.Model):
    """A chargeback a buyer's bank opened; the entitlements are suspended while it is open or lost."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=40)
    reason = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Dispute {self.stripe_dispute_id} ({self.status})"


class PayoutAccount(models.Model):
    """A creator's Stripe Connect Express account."""

    creator = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payout_account")
    stripe_account_id = models.CharField(max_length=255, unique=True)
    details_submitted = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.stripe_account_id


class Payout(models.Model):
    """A transfer of a creator's earnings to their Connect account."""

    class Status(models.TextChoices):
        PENDING = "pending", "Sending"
        PAID = "paid", "Sent"
        FAILED = "failed", "Failed"

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_transfer_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Payout #{self.pk} {self.amount} {self.currency} ({self.status})"


class EarningsHold(models.Model):
    """Earnings a creator may not be paid while a takedown stands (issue 14, trust): ``amount`` of ``currency`` is
    kept out of the available balance until ``released_at``. ``reference`` (e.g. ``takedown:12:pattern:34``) makes
    holding the same thing twice impossible."""

    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="earnings_holds")
    pattern_id = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    amount = models.PositiveIntegerField()
    reference = models.CharField(max_length=120, unique=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["creator", "currency"],
                condition=models.Q(released_at__isnull=True),
                name="earnings_hold_active",
            )
        ]

    def __str__(self) -> str:
        return f"hold {self.reference}: {self.amount} {self.currency}"
