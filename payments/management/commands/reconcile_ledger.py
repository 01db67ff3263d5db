"""manage.py reconcile_ledger: does the ledger agree with Stripe's balance transactions?"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from payments.reconciliation import reconcile


class Command(BaseCommand):
    help = "Compare the ledger's Stripe balance account with Stripe's balance transactions."

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile()
        self.stdout.write(f"matched: {report.matched}")
        self.stdout.write(f"Stripe totals: {report.stripe_total}; ledger totals: {report.ledger_total}")
        for difference in report.differences:
            self.stdout.write(f"DIFFERENCE {difference}")
        if not report.ok:
            raise CommandError(f"{len(report.differences)} differences")
        self.stdout.write("The ledger matches Stripe.")
