"""Compare the ledger's Stripe balance with Stripe's own balance transactions, object by object."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from payments import stripe_gateway
from payments.models import LedgerAccount, LedgerEntry, LedgerTransaction

# Disputes show up at Stripe as "adjustment" balance transactions whose source is the dispute.
_RECONCILED_KINDS = [
    LedgerTransaction.Kind.SALE,
    LedgerTransaction.Kind.REFUND,
    LedgerTransaction.Kind.PAYOUT,
    LedgerTransaction.Kind.DISPUTE,
    LedgerTransaction.Kind.DISPUTE_WON,
]


@dataclass
class Reconciliation:
    matched: int = 0
    differences: list[str] = field(default_factory=list)
    stripe_total: dict[str, int] = field(default_factory=dict)
    ledger_total: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences


def reconcile() -> Reconciliation:
    """Every Stripe movement must be in the ledger with the same amount, and the other way round."""
    stripe_side: dict[str, int] = defaultdict(int)
    stripe_currency: dict[str, str] = {}
    for txn in stripe_gateway.balance_transactions():
        stripe_side[txn.source] += txn.amount
        stripe_currency[txn.source] = txn.currency
    ledger_side: dict[str, int] = defaultdict(int)
    ledger_currency: dict[str, str] = {}
    entries = LedgerEntry.objects.filter(
        account__kind=LedgerAccount.Kind.STRIPE_BALANCE, transaction__kind__in=_RECONCILED_KINDS
    ).select_related("transaction", "account")
    for entry in entries:
        source = entry.transaction.stripe_object_id or entry.transaction.reference
        ledger_side[source] += entry.amount
        ledger_currency[source] = entry.account.currency
    report = Reconciliation()
    for source in sorted(set(stripe_side) | set(ledger_side)):
        at_stripe, in_ledger = stripe_side.get(source), ledger_side.get(source)
        if at_stripe is None:
            report.differences.append(f"{source}: in the ledger ({in_ledger}) but not at Stripe")
        elif in_ledger is None:
            report.differences.append(f"{source}: at Stripe ({at_stripe}) but not in the ledger")
        elif at_stripe != in_ledger:
            report.differences.append(f"{source}: Stripe {at_stripe}, ledger {in_ledger}")
        else:
            report.matched += 1
    for side, currencies, totals in (
        (stripe_side, stripe_currency, report.stripe_total),
        (ledger_side, ledger_currency, report.ledger_total),
    ):
        for source, amount in side.items():
            currency = currencies.get(source, "?")
            totals[currency] = totals.get(currency, 0) + amount
    return report
