"""Reads of orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from payments.models import Order, OrderItem, Payment

# An order whose lines (those not already owned when it was paid) the buyer holds: not fully refunded, not disputed.
HOLDING_STATUSES = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)


def order_list_for_buyer(*, buyer: Any) -> QuerySet[Order]:
    """The buyer's orders, newest first, with their lines (pattern, licence) and payments.

    A fixed number of queries whatever the number of orders: the page of order history and receipts use it.
    """
    return Order.objects.filter(buyer=buyer).prefetch_related(
        Prefetch(
            "items",
            queryset=OrderItem.objects.select_related("pattern", "licence").order_by("pk"),
        ),
        Prefetch("payments", queryset=Payment.objects.order_by("pk")),
    )


def patterns_held(*, buyer: Any, pattern_ids: Sequence[int]) -> set[int]:
    """Which of ``pattern_ids`` the buyer holds, by payments' own books: a line of a paid order that was not
    already owned when paid, in an order neither fully refunded nor disputed (a won dispute makes it paid again).

    These are exactly the lines delivery grants an entitlement for (its inline handler of ``order.paid``) and has
    not revoked (its handlers of ``order.refunded`` with ``full`` and ``order.disputed``), so payments can refuse a
    second sale of a pattern without asking delivery, which sits above it.
    """
    if not getattr(buyer, "is_authenticated", False) or not pattern_ids:
        return set()
    return set(
        OrderItem.objects.filter(
            order__buyer=buyer,
            order__paid_at__isnull=False,
            order__status__in=HOLDING_STATUSES,
            already_owned=False,
            pattern_id__in=list(pattern_ids),
        ).values_list("pattern_id", flat=True)
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
        # Payments' own answer (see patterns_held), not delivery's rows: payments sits below delivery.
        "downloadable": order.paid_at is not None
        and order.status in HOLDING_STATUSES
        and any(not item.already_owned for item in items),
    }


def order_get_for_buyer(*, buyer: Any, order_id: int) -> Order | None:
    return order_list_for_buyer(buyer=buyer).filter(pk=order_id).first()


def creator_earnings(*, creator: Any) -> dict[str, Any]:
    """A creator's balances per currency, their recent ledger lines, payouts and payout account."""
    from payments import holds, ledger
    from payments.models import LedgerAccount, LedgerEntry, Payout, PayoutAccount

    holds_by_currency = holds.earnings_held(creator=creator)
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
            # Held while a takedown notice stands (issue 14): owed, not payable.
            "held": holds_by_currency.get(currency, 0),
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


def order_sale_facts(*, order_id: int) -> dict[str, Any]:
    """What creator insights need of a paid order: each line's platform fee (``fees``: item id → minor units), the
    creators its buyer had already bought from in an earlier paid order (``returning_creators``), and the paying
    card's country (``country``: ISO code, "" when Stripe did not report one)."""
    order = Order.objects.filter(pk=order_id).only("pk", "buyer_id", "paid_at").first()
    if order is None:
        return {"fees": {}, "returning_creators": set(), "country": ""}
    fees = dict(OrderItem.objects.filter(order_id=order_id).values_list("pk", "platform_fee"))
    earlier = OrderItem.objects.filter(
        order__buyer_id=order.buyer_id, order__paid_at__isnull=False, already_owned=False
    )
    if order.paid_at is not None:
        earlier = earlier.filter(order__paid_at__lt=order.paid_at)
    returning = set(earlier.exclude(order_id=order_id).values_list("creator_id", flat=True).distinct())
    country = (
        Payment.objects.filter(order_id=order_id)
        .exclude(card_country="")
        .values_list("card_country", flat=True)
        .first()
    )
    return {"fees": fees, "returning_creators": returning, "country": country or ""}
