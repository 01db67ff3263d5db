"""Reads of orders."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from payments.models import Order, OrderItem, Payment


def order_list_for_buyer(*, buyer: Any) -> QuerySet[Order]:
    """The buyer's orders, newest first, with their lines (pattern, licence, entitlement) and payments.

    A fixed number of queries whatever the number of orders: the page of order history and receipts use it.
    """
    return Order.objects.filter(buyer=buyer).prefetch_related(
        Prefetch(
            "items",
            queryset=OrderItem.objects.select_related("pattern", "licence", "entitlement").order_by("pk"),
        ),
        Prefetch("payments", queryset=Payment.objects.order_by("pk")),
    )


def order_summary(*, order: Order) -> dict[str, Any]:
    """What a checkout, receipt or history row shows of an order, from its prefetched lines and payments.

    ``subtotal`` is the sum of the lines; ``tax_included`` says whether ``order.tax_amount`` (when there is
    any) is inside the prices (then the total is the subtotal) or was added to them. ``card`` is the card
    that paid, when Stripe said which. ``downloadable`` is whether any line is still in the buyer's library.
    """
    items = list(order.items.all())
    payments = list(order.payments.all())
    card = next((p for p in payments if p.card_last4), None)
    subtotal = sum(item.price for item in items)
    return {
        "items": items,
        "subtotal": subtotal,
        # An order with tax says by its own numbers whether the tax was inside the prices or added to them.
        "tax_included": bool(order.tax_amount) and order.amount == subtotal,
        "remaining": order.amount - order.amount_refunded,
        "card": {"brand": card.card_brand, "last4": card.card_last4} if card else None,
        "downloadable": any(
            getattr(item, "entitlement", None) is not None and item.entitlement.revoked_at is None for item in items
        ),
    }


def order_get_for_buyer(*, buyer: Any, order_id: int) -> Order | None:
    return order_list_for_buyer(buyer=buyer).filter(pk=order_id).first()


def creator_earnings(*, creator: Any) -> dict[str, Any]:
    """A creator's balances per currency, their recent ledger lines, payouts and payout account."""
    from payments import ledger
    from payments.models import LedgerAccount, LedgerEntry, Payout, PayoutAccount

    currencies = list(
        LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CREATOR_PAYABLE, creator=creator).values_list(
            "currency", flat=True
        )
    )
    balances = [
        {
            "currency": currency,
            "balance": ledger.creator_balance(creator=creator, currency=currency),
            "available": ledger.creator_balance(creator=creator, currency=currency, available_only=True),
        }
        for currency in sorted(currencies)
    ]
    lines = [
        {
            "date": entry.transaction.created_at,
            "kind": entry.transaction.get_kind_display(),
            "pattern": entry.order_item.pattern.title if entry.order_item else "",
            "order_id": entry.transaction.order_id,
            "amount": -entry.amount,
            "currency": entry.account.currency,
        }
        for entry in LedgerEntry.objects.filter(
            account__kind=LedgerAccount.Kind.CREATOR_PAYABLE, account__creator=creator
        )
        .select_related("transaction", "account", "order_item__pattern")
        .order_by("-transaction__created_at", "-pk")[:50]
    ]
    return {
        "balances": balances,
        "lines": lines,
        "payouts": list(Payout.objects.filter(creator=creator)[:20]),
        "account": PayoutAccount.objects.filter(creator=creator).first(),
    }


def order_counts_by_status() -> dict[str, int]:
    """How many orders are in each status (every status, zeros included): one grouped count on an index."""
    counts = dict(Order.objects.order_by().values_list("status").annotate(total=Count("id")))
    return {status: int(counts.get(status, 0)) for status in Order.Status.values}


def order_lines_of_creator(*, order_id: int, creator_id: int) -> list[dict[str, Any]]:
    """One creator's lines of an order: pattern id and title, licence code, price and currency (no buyer data),
    for what that creator is told about the order (outgoing webhooks)."""
    return [
        {
            "pattern_id": line["pattern_id"],
            "title": line["pattern__title"],
            "licence": line["licence__code"],
            "price": line["price"],
            "currency": line["currency"],
        }
        for line in OrderItem.objects.filter(order_id=order_id, creator_id=creator_id)
        .order_by("pk")
        .values("pattern_id", "pattern__title", "licence__code", "price", "currency")
    ]
