from typing import Any

import stripe
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from payments import services
from payments.models import (
    Dispute,
    LedgerEntry,
    LedgerTransaction,
    Order,
    OrderItem,
    Payment,
    Payout,
    PayoutAccount,
    Refund,
    WebhookEvent,
)


class OrderItemInline(admin.TabularInline[OrderItem, Order]):
    model = OrderItem
    extra = 0
    readonly_fields = ["pattern", "creator", "licence", "price", "platform_fee", "currency"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = ["id", "buyer", "status", "amount", "amount_refunded", "currency", "created_at", "paid_at"]
    list_filter = ["status", "currency"]
    search_fields = ["buyer__username", "buyer__email", "stripe_payment_intent_id"]
    inlines = [OrderItemInline]
    readonly_fields = ["stripe_payment_intent_id", "client_secret", "paid_at", "amount_refunded"]
    actions = ["refund_in_full"]

    @admin.action(description="Refund in full through Stripe", permissions=["change"])
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                refund_id = services.order_refund(order=order)
            except (ValidationError, stripe.StripeError) as exc:
                self.message_user(
                    request, f"Order #{order.pk}: {'; '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR
                )
                continue
            self.message_user(
                request, f"Order #{order.pk}: refund {refund_id} requested; access ends when Stripe confirms it."
            )


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin[Payment]):
    list_display = ["stripe_payment_intent_id", "order", "amount", "currency", "status", "created_at"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin[WebhookEvent]):
    list_display = ["stripe_event_id", "type", "processed_at"]
    list_filter = ["type"]


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin[Refund]):
    list_display = ["stripe_refund_id", "order", "amount", "currency", "created_at"]


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin[Dispute]):
    list_display = ["stripe_dispute_id", "order", "amount", "status", "reason", "created_at", "closed_at"]
    list_filter = ["status"]


class LedgerEntryInline(admin.TabularInline[LedgerEntry, LedgerTransaction]):
    model = LedgerEntry
    extra = 0
    readonly_fields = ["account", "amount", "order_item"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(admin.ModelAdmin[LedgerTransaction]):
    """Read only: the ledger is append-only, corrections are new transactions."""

    list_display = ["reference", "kind", "order", "stripe_object_id", "created_at"]
    list_filter = ["kind"]
    inlines = [LedgerEntryInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin[PayoutAccount]):
    list_display = ["creator", "stripe_account_id", "details_submitted", "payouts_enabled"]


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin[Payout]):
    list_display = ["id", "creator", "amount", "currency", "status", "stripe_transfer_id", "created_at", "sent_at"]
    list_filter = ["status"]
