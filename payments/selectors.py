"""Reads of orders."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from payments.models import Order


def order_list_for_buyer(*, buyer: Any) -> QuerySet[Order]:
    return Order.objects.filter(buyer=buyer).prefetch_related("items__pattern")


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
