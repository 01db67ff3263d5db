from decimal import Decimal
from typing import Any

import stripe
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from catalog.permissions import REFUND_ORDERS, staff_has_perm
from catalog.templatetags.tessera import amount_of
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


class ChangedThroughServices:
    """A money or access record staff read but never edit or delete in a form: its changes go through services
    (a refund is asked for on its own page), which record who did what as domain events."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        declared = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        excluded = set(getattr(self, "exclude", None) or [])
        model = self.model  # type: ignore[attr-defined]
        return declared + [
            f.name for f in model._meta.concrete_fields if f.name not in excluded and f.name not in declared
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Nothing in the form can be saved: no Save buttons (actions such as the refund page stay).
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False}
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc,no-any-return]


def money_display(field: str, description: str, currency: str = "currency") -> Any:
    """An admin column showing an integer of minor units as money, e.g. "USD 12.50" (sortable by the field)."""

    @admin.display(description=description, ordering=field)
    def show(self: Any, obj: Any) -> str:
        return amount_of(getattr(obj, field), getattr(obj, currency))

    show.__name__ = f"{field}_money"
    return show


class OrderItemInline(admin.TabularInline[OrderItem, Order]):
    model = OrderItem
    extra = 0
    fields = ["pattern", "creator", "licence", "price_money", "platform_fee_money", "already_owned"]
    readonly_fields = ["pattern", "creator", "licence", "price_money", "platform_fee_money", "already_owned"]
    price_money = money_display("price", "Price")
    platform_fee_money = money_display("platform_fee", "Tessera's fee")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundForm(forms.Form):
    """How much to give back and why: at most what was paid and not refunded yet."""

    amount = forms.DecimalField(
        min_value=Decimal("0.01"),
        decimal_places=2,
        max_digits=12,
        help_text="In the order's currency, e.g. 4.50 for part of the order.",
    )
    reason = forms.CharField(
        max_length=200,
        help_text="Kept with the refund (and sent to Stripe); say why, for whoever looks at this order next.",
    )

    def __init__(self, *args: Any, order: Order, refundable: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order, self.refundable = order, refundable
        self.fields["amount"].label = f"Amount to refund ({order.currency})"

    def clean_amount(self) -> int:
        cents = int(self.cleaned_data["amount"] * 100)
        if cents > self.refundable:
            raise ValidationError(
                f"At most {amount_of(self.refundable, self.order.currency)} can be refunded: "
                f"{amount_of(self.order.amount, self.order.currency)} was paid and "
                f"{amount_of(self.order.amount_refunded, self.order.currency)} is refunded already."
            )
        return cents

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Say why the order is refunded.")
        return str(reason)


@admin.register(Order)
class OrderAdmin(ChangedThroughServices, admin.ModelAdmin[Order]):
    list_display = ["id", "buyer", "status", "amount_money", "amount_refunded_money", "created_at", "paid_at"]
    list_filter = ["status", "currency"]
    search_fields = ["buyer__username", "buyer__email", "stripe_payment_intent_id"]
    inlines = [OrderItemInline]
    # Totals come from the checkout and Stripe, never from a form.
    exclude = ["amount", "amount_refunded", "tax_amount"]
    readonly_fields = [
        "amount_money",
        "tax_amount_money",
        "amount_refunded_money",
        "stripe_payment_intent_id",
        "client_secret",
        "paid_at",
    ]
    actions = ["refund"]
    change_form_template = "admin/payments/order/change_form.html"
    amount_money = money_display("amount", "Total")
    amount_refunded_money = money_display("amount_refunded", "Refunded")
    tax_amount_money = money_display("tax_amount", "Tax in the total")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from the checkout only

    @admin.action(description="Refund… (asks how much and why)", permissions=["change"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        """Refunds go through the confirmation page, one order at a time."""
        orders = list(queryset[:2])
        if len(orders) != 1:
            self.message_user(request, "Select one order to refund; each refund is confirmed on its own page.")
            return None
        return redirect("admin:payments_order_refund", orders[0].pk)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:order_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="payments_order_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Confirm a refund: the amount (all that is left, or part of it) and a reason, then Stripe."""
        if not staff_has_perm(request.user, REFUND_ORDERS):
            raise PermissionDenied("Refunds need the payments.change_order permission.")
        order = get_object_or_404(Order.objects.select_related("buyer"), pk=order_id)
        refundable = services.order_refundable(order=order)
        initial = {"amount": Decimal(refundable).scaleb(-2)}
        form = RefundForm(request.POST or None, initial=initial, order=order, refundable=refundable)
        if request.method == "POST" and refundable and form.is_valid():
            amount = form.cleaned_data["amount"]
            try:
                refund_id = services.order_refund(
                    order=order, amount=amount, reason=form.cleaned_data["reason"], requested_by=request.user
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            except stripe.StripeError as exc:
                form.add_error(None, f"Stripe did not refund it: {exc.user_message or exc}")
            else:
                self.message_user(
                    request,
                    f"Order #{order.pk}: refund of {amount_of(amount, order.currency)} requested ({refund_id}); "
                    "the order shows it, and access ends for a full refund, when Stripe confirms it.",
                    messages.SUCCESS,
                )
                return redirect("admin:payments_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Refund order #{order.pk}",
            "order": order,
            "items": order.items.select_related("pattern", "licence"),
            "refundable": refundable,
            "form": form,
        }
        return TemplateResponse(request, "admin/payments/order/refund.html", context, status=200)


@admin.register(Payment)
class PaymentAdmin(ChangedThroughServices, admin.ModelAdmin[Payment]):
    list_display = ["stripe_payment_intent_id", "order", "amount_money", "status", "created_at"]
    amount_money = money_display("amount", "Amount")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ChangedThroughServices, admin.ModelAdmin[WebhookEvent]):
    list_display = ["stripe_event_id", "type", "processed_at"]
    list_filter = ["type"]


@admin.register(Refund)
class RefundAdmin(ChangedThroughServices, admin.ModelAdmin[Refund]):
    list_display = ["stripe_refund_id", "order", "amount_money", "reason", "created_at"]
    amount_money = money_display("amount", "Amount")


@admin.register(Dispute)
class DisputeAdmin(ChangedThroughServices, admin.ModelAdmin[Dispute]):
    list_display = ["stripe_dispute_id", "order", "amount_money", "status", "reason", "created_at", "closed_at"]
    list_filter = ["status"]
    amount_money = money_display("amount", "Amount")


class LedgerEntryInline(admin.TabularInline[LedgerEntry, LedgerTransaction]):
    model = LedgerEntry
    extra = 0
    fields = ["account", "debit", "credit", "order_item"]
    readonly_fields = ["account", "debit", "credit", "order_item"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).select_related("account", "order_item__pattern")

    @admin.display(description="Debit")
    def debit(self, entry: LedgerEntry) -> str:
        return amount_of(entry.amount, entry.account.currency) if entry.amount > 0 else ""

    @admin.display(description="Credit")
    def credit(self, entry: LedgerEntry) -> str:
        return amount_of(-entry.amount, entry.account.currency) if entry.amount < 0 else ""

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
class PayoutAccountAdmin(ChangedThroughServices, admin.ModelAdmin[PayoutAccount]):
    list_display = ["creator", "stripe_account_id", "details_submitted", "payouts_enabled"]


@admin.register(Payout)
class PayoutAdmin(ChangedThroughServices, admin.ModelAdmin[Payout]):
    list_display = ["id", "creator", "amount_money", "status", "stripe_transfer_id", "created_at", "sent_at"]
    list_filter = ["status"]
    readonly_fields = ["amount_money"]
    exclude = ["amount"]
    amount_money = money_display("amount", "Amount")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # payouts are sent by payments.payouts only
