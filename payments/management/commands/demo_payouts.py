"""manage.py demo_payouts USERNAME...: complete these creators' payout onboarding on the local Stripe emulator.

``make run`` calls it for the demo creator after seeding, so the paid demo patterns (approved while payouts were not
set up, and waiting as drafts as the payouts gate requires) go on sale the way a real creator's would: Connect
reports the account ready and catalog publishes what waited. Only against the emulator (never real Stripe).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.payouts import payout_account_onboard_emulated


class Command(BaseCommand):
    help = "Complete the named creators' payout onboarding on the local Stripe emulator (make run's demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="+")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.STRIPE_USES_LOCALSTRIPE:
            raise CommandError("demo_payouts runs only against the local Stripe emulator (STRIPE_SECRET_KEY is set)")
        for username in options["usernames"]:
            creator = get_user_model().objects.filter(username=username).first()
            if creator is None:
                raise CommandError(f"no user {username!r}")
            account = payout_account_onboard_emulated(creator=creator)
            self.stdout.write(f"{username}: payouts ready ({account.stripe_account_id})")
