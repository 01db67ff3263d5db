"""The double-entry ledger: every movement of money is a balanced transaction of entries.

Sign convention: a debit is positive, a credit negative, and every transaction sums to zero.
Accounts: ``stripe_balance`` (what Stripe holds for us, an asset), ``platform_fees`` (our revenue) and
one ``creator_payable`` per creator and currency (what we owe them). A creator's balance is the
negated sum of their payable account, so it is derived from append-only rows and cannot drift under
concurrent writers; each transaction's ``reference`` is unique, so a business event retried or
delivered twice is recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from payments.models import EarningsHold, LedgerAccount, LedgerEntry, LedgerTransaction, Order, OrderItem


class LedgerImbalance(ValueError):
    """A transaction whose entries do not sum to zero was about to be written."""


@dataclass(frozen=True)
class Line:
    account: LedgerAccount
    amount: int
    order_item: OrderItem | None = None


def platform_fee_for(price: int) -> int:
    """Tessera's fee on one item: basis points of the price, rounded half up, never above the price."""
    return min(price, (price * settings.TESSERA_PLATFORM_FEE_BPS + 5000) // 10000)


def account(kind: str, currency: str, creator_id: int | None = None) -> LedgerAccount:
    found, _ = LedgerAccount.objects.get_or_create(kind=kind, creator_id=creator_id, currency=currency.upper())
    return found


def transaction_record(
    *, kind: str, reference: str, lines: list[Line], order: Order | None = None, stripe_object_id: str = ""
) -> LedgerTransaction | None:
    """Write one balanced transaction; returns None when ``reference`` was recorded before."""
    lines = [line for line in lines if line.amount]
    if sum(line.amount for line in lines) != 0:
        raise LedgerImbalance(f"{reference}: entries sum to {sum(line.amount for line in lines)}")
    try:
        with transaction.atomic():
            record = LedgerTransaction.objects.create(
                kind=kind, reference=reference, order=order, stripe_object_id=stripe_object_id
            )
            LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(
                        transaction=record, account=line.account, amount=line.amount, order_item=line.order_item
                    )
                    for line in lines
                ]
            )
    except IntegrityError:
        if LedgerTransaction.objects.filter(reference=reference).exists():
            return None
        raise
    return record


def allocate(items: list[OrderItem], amount: int) -> dict[int, int]:
    """Split ``amount`` over ``items`` in proportion to price (largest remainder, exact sum)."""
    total = sum(item.price for item in items)
    if total == 0 or amount == 0:
        return {}
    raw = [(item, amount * item.price // total, amount * item.price % total) for item in items]
    shares = {item.pk: floor for item, floor, _rest in raw}
    missing = amount - sum(shares.values())
    for item, _floor, _rest in sorted(raw, key=lambda r: (-r[2], r[0].pk))[:missing]:
        shares[item.pk] += 1
    return shares


@dataclass(frozen=True)
class Position:
    """Where the first ``amount`` of an order's total goes: tax, and per item Tessera's fee and the creator's share."""

    tax: int
    fees: dict[int, int]
    creators: dict[int, int]


@dataclass(frozen=True)
class Basis:
    """What a position is a share of: the items, the total and the tax in it."""

    items: list[OrderItem]
    total: int
    tax: int


def basis_sold(order: Order, items: list[OrderItem]) -> Basis:
    """Every line of the order, as the buyer paid for it."""
    return Basis(items=items, total=order.amount, tax=order.tax_amount)


def basis_kept(order: Order, items: list[OrderItem]) -> Basis:
    """The lines the buyer keeps: lines they already owned when they paid are refunded at once, whole.

    Each line's part of the total (and of the tax) is its price's share, so an owned line leaves the
    books exactly and later refunds and disputes split only over the lines that were delivered.
    """
    owned = [item for item in items if item.already_owned]
    if not owned:
        return basis_sold(order, items)
    totals, taxes = allocate(items, order.amount), allocate(items, order.tax_amount)
    return Basis(
        items=[item for item in items if not item.already_owned],
        total=order.amount - sum(totals.get(item.pk, 0) for item in owned),
        tax=order.tax_amount - sum(taxes.get(item.pk, 0) for item in owned),
    )


def position(basis: Basis, amount: int) -> Position:
    """The split of the first ``amount`` paid for the lines of ``basis``.

    Refunds and disputes are booked as the difference between two positions (before and after), so
    however an order is refunded in parts, the parts add up exactly to the whole and a full refund
    leaves every account where it started.
    """
    tax = basis.tax * amount // basis.total if basis.total else 0
    shares = allocate(basis.items, amount - tax)
    fees, creators = {}, {}
    for item in basis.items:
        share = shares.get(item.pk, 0)
        fees[item.pk] = item.platform_fee if share == item.price else item.platform_fee * share // max(item.price, 1)
        creators[item.pk] = share - fees[item.pk]
    return Position(tax=tax, fees=fees, creators=creators)


def _lines_between(order: Order, items: list[OrderItem], before: Position, after: Position) -> list[Line]:
    """Lines moving the books from ``before`` to ``after``; Stripe's balance changes by the difference."""
    fees = account(LedgerAccount.Kind.PLATFORM_FEES, order.currency)
    lines = []
    if after.tax != before.tax:
        lines.append(Line(account(LedgerAccount.Kind.TAX_PAYABLE, order.currency), -(after.tax - before.tax)))
    for item in items:
        payable = account(LedgerAccount.Kind.CREATOR_PAYABLE, order.currency, item.creator_id)
        fee_change = after.fees.get(item.pk, 0) - before.fees.get(item.pk, 0)
        creator_change = after.creators.get(item.pk, 0) - before.creators.get(item.pk, 0)
        lines.append(Line(fees, -fee_change, item))
        lines.append(Line(payable, -creator_change, item))
    received = -sum(line.amount for line in lines)
    return [Line(account(LedgerAccount.Kind.STRIPE_BALANCE, order.currency), received), *lines]


def sale_record(*, order: Order, stripe_object_id: str = "") -> LedgerTransaction | None:
    """Book a paid order: Stripe holds the total, tax is owed, Tessera earns its fees, creators the rest."""
    items = list(order.items.order_by("pk"))
    sold = basis_sold(order, items)
    return transaction_record(
        kind=LedgerTransaction.Kind.SALE,
        reference=f"sale:{order.pk}",
        lines=_lines_between(order, items, position(sold, 0), position(sold, order.amount)),
        order=order,
        stripe_object_id=stripe_object_id,
    )


def owned_lines_amount(*, order: Order) -> int:
    """What the lines the buyer already owned cost them (their share of the total, tax included)."""
    return order.amount - basis_kept(order, list(order.items.order_by("pk"))).total


def owned_lines_refund_record(*, order: Order, stripe_object_id: str) -> LedgerTransaction | None:
    """Book the refund of the lines the buyer already owned: those lines leave the books whole."""
    items = list(order.items.order_by("pk"))
    kept = basis_kept(order, items)
    return transaction_record(
        kind=LedgerTransaction.Kind.REFUND,
        reference=f"refund:{order.pk}:owned",
        lines=_lines_between(
            order, items, position(basis_sold(order, items), order.amount), position(kept, kept.total)
        ),
        order=order,
        stripe_object_id=stripe_object_id,
    )


def reversal_record(
    *, order: Order, already_reversed: int, amount: int, kind: str, reference: str, stripe_object_id: str = ""
) -> LedgerTransaction | None:
    """Take ``amount`` more of a sale back out of the books (refund, dispute), after ``already_reversed``."""
    kept_before = order.amount - already_reversed
    items = list(order.items.order_by("pk"))
    kept = basis_kept(order, items)
    return transaction_record(
        kind=kind,
        reference=reference,
        lines=_lines_between(order, items, position(kept, kept_before), position(kept, kept_before - amount)),
        order=order,
        stripe_object_id=stripe_object_id,
    )


def mirror_record(
    *, original_reference: str, kind: str, reference: str, stripe_object_id: str = ""
) -> LedgerTransaction | None:
    """Undo a booked transaction exactly, entry by entry (a dispute won, a payout Stripe refused)."""
    original = LedgerTransaction.objects.get(reference=original_reference)
    entries = original.entries.select_related("account", "order_item")
    return transaction_record(
        kind=kind,
        reference=reference,
        lines=[Line(entry.account, -entry.amount, entry.order_item) for entry in entries],
        order=original.order,
        stripe_object_id=stripe_object_id,
    )


def creator_balance(*, creator: Any, currency: str, available_only: bool = False) -> int:
    """What Tessera owes a creator; with ``available_only``, less sales still inside the hold period and less
    earnings held while a takedown stands (``EarningsHold``; never below zero)."""
    entries = LedgerEntry.objects.filter(
        account__kind=LedgerAccount.Kind.CREATOR_PAYABLE, account__creator=creator, account__currency=currency.upper()
    )
    if available_only:
        held_since = timezone.now() - timedelta(days=settings.TESSERA_PAYOUT_HOLD_DAYS)
        entries = entries.exclude(
            Q(transaction__kind=LedgerTransaction.Kind.SALE) & Q(transaction__created_at__gt=held_since)
        )
    balance = -int(entries.aggregate(total=Sum("amount"))["total"] or 0)
    if available_only:
        held = EarningsHold.objects.filter(
            creator=creator, currency=currency.upper(), released_at__isnull=True
        ).aggregate(total=Sum("amount"))["total"]
        balance = max(0, balance - int(held or 0))
    return balance


def account_balance(*, kind: str, currency: str) -> int:
    """The debit balance of a platform account (positive for the Stripe balance)."""
    total = LedgerEntry.objects.filter(account__kind=kind, account__currency=currency.upper()).aggregate(
        total=Sum("amount")
    )["total"]
    return int(total or 0)


def trial_balance() -> int:
    """The sum of every entry ever written: zero in a sound ledger."""
    return int(LedgerEntry.objects.aggregate(total=Sum("amount"))["total"] or 0)
