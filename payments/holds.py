"""Earnings held while a takedown stands (issue 14): trust asks, payments keeps the money out of payouts.

A hold is a row, not a ledger movement: the money stays owed to the creator (their balance is unchanged), it is
only not *available* (``ledger.creator_balance(available_only=True)`` subtracts active holds), so a payout run
leaves it alone and a release simply makes it payable again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from payments import ledger
from payments.models import EarningsHold, LedgerAccount, LedgerEntry, Payout

logger = logging.getLogger(__name__)


def _unpaid_earnings(*, creator_id: int, pattern_id: int, currency: str) -> int:
    """The creator's earnings from one pattern not yet paid out: the pattern's sales, refunds and disputes booked
    after the cut-off of the latest payout (a payout pays what was older than the payout hold then), capped by
    what the creator is owed now."""
    entries = LedgerEntry.objects.filter(
        account__kind=LedgerAccount.Kind.CREATOR_PAYABLE,
        account__creator_id=creator_id,
        account__currency=currency,
        order_item__pattern_id=pattern_id,
    )
    last_payout = (
        Payout.objects.filter(creator_id=creator_id, currency=currency)
        .exclude(status=Payout.Status.FAILED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last_payout is not None:
        entries = entries.filter(
            transaction__created_at__gt=last_payout - timedelta(days=settings.TESSERA_PAYOUT_HOLD_DAYS)
        )
    earned = -int(entries.aggregate(total=Sum("amount"))["total"] or 0)
    owed = ledger.creator_balance(creator=creator_id, currency=currency)
    return max(0, min(earned, owed))


def earnings_hold(*, creator_id: int, pattern_id: int, reference: str, reason: str) -> list[EarningsHold]:
    """Hold the creator's unpaid earnings from ``pattern_id`` (one hold per currency it sold in). Idempotent per
    ``reference``; returns the holds (amount 0 rows are kept too, so a release finds what was decided)."""
    currencies = (
        LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CREATOR_PAYABLE, creator_id=creator_id)
        .order_by("currency")
        .values_list("currency", flat=True)
    )
    holds: list[EarningsHold] = []
    with transaction.atomic():
        for currency in currencies:
            # Serialise with payout_create, which locks the same account row before reading the available balance.
            payable = ledger.account(LedgerAccount.Kind.CREATOR_PAYABLE, currency, creator_id)
            LedgerAccount.objects.select_for_update().get(pk=payable.pk)
            amount = _unpaid_earnings(creator_id=creator_id, pattern_id=pattern_id, currency=currency)
            if amount <= 0:
                continue
            hold, _ = EarningsHold.objects.get_or_create(
                reference=f"{reference}:{currency}",
                defaults={
                    "creator_id": creator_id,
                    "pattern_id": pattern_id,
                    "currency": currency,
                    "amount": amount,
                    "reason": reason[:200],
                },
            )
            holds.append(hold)
    logger.info("earnings held for creator %s pattern %s: %s", creator_id, pattern_id, [h.amount for h in holds])
    return holds


def earnings_release(*, reference: str) -> int:
    """Release every active hold made under ``reference``; returns how much became payable again."""
    with transaction.atomic():
        active = list(
            EarningsHold.objects.select_for_update().filter(
                reference__startswith=f"{reference}:", released_at__isnull=True
            )
        )
        EarningsHold.objects.filter(pk__in=[h.pk for h in active]).update(released_at=timezone.now())
    return sum(h.amount for h in active)


def earnings_held(*, creator: Any) -> dict[str, int]:
    """Active holds per currency (the earnings page shows them)."""
    rows = (
        EarningsHold.objects.filter(creator=creator, released_at__isnull=True)
        .values_list("currency")
        .annotate(total=Sum("amount"))
    )
    return {currency: int(total) for currency, total in rows}
