"""Creator payouts through Stripe Connect Express: onboarding, and transfers on a schedule."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

import requests
import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog import services as catalog_services
from marketplace.events import record
from payments import ledger, stripe_gateway
from payments.events import PayoutFailed, PayoutPaid
from payments.models import LedgerAccount, LedgerTransaction, Payout, PayoutAccount

logger = logging.getLogger(__name__)


def payout_account_onboarding_link(*, creator: Any, refresh_url: str, return_url: str) -> str:
    """Create the creator's Express account once, and a fresh onboarding link to Stripe's hosted form."""
    account = PayoutAccount.objects.filter(creator=creator).first()
    if account is None:
        created = stripe_gateway.connect_account_create(
            email=creator.email, country="US", idempotency_key=f"tessera-connect-{creator.pk}"
        )
        account, _ = PayoutAccount.objects.get_or_create(creator=creator, defaults={"stripe_account_id": created.id})
    return stripe_gateway.connect_onboarding_link(
        account_id=account.stripe_account_id, refresh_url=refresh_url, return_url=return_url
    )


def payout_account_refresh(*, creator: Any) -> PayoutAccount | None:
    account = PayoutAccount.objects.filter(creator=creator).first()
    if account is None:
        return None
    remote = stripe_gateway.connect_account_retrieve(account_id=account.stripe_account_id)
    account.details_submitted = remote.details_submitted
    account.payouts_enabled = remote.payouts_enabled
    account.save(update_fields=["details_submitted", "payouts_enabled", "updated_at"])
    catalog_services.creator_payouts_ready_set(user_id=account.creator_id, ready=account.payouts_enabled)
    return account


def payout_create(*, creator: Any, currency: str) -> Payout | None:
    """Move the creator's available balance into a pending payout, if it reaches the minimum.

    The creator's payable account row is locked for the duration, so two runs at once cannot both pay
    the same earnings.
    """
    with transaction.atomic():
        payable = ledger.account(LedgerAccount.Kind.CREATOR_PAYABLE, currency, creator.pk)
        LedgerAccount.objects.select_for_update().get(pk=payable.pk)
        if Payout.objects.filter(creator=creator, currency=currency, status=Payout.Status.PENDING).exists():
            return None
        available = ledger.creator_balance(creator=creator, currency=currency, available_only=True)
        if available < settings.TESSERA_PAYOUT_MINIMUM:
            return None
        payout = Payout.objects.create(creator=creator, amount=available, currency=currency)
        ledger.transaction_record(
            kind=LedgerTransaction.Kind.PAYOUT,
            reference=f"payout:{payout.pk}",
            lines=[
                ledger.Line(payable, available),
                ledger.Line(ledger.account(LedgerAccount.Kind.STRIPE_BALANCE, currency), -available),
            ],
        )
        from payments import tasks

        transaction.on_commit(lambda: tasks.payout_send.delay(payout.pk), robust=True)
    return payout


def payout_send(*, payout_id: int) -> Payout | None:
    """Transfer a pending payout. Idempotent: Stripe sees one idempotency key per payout."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None or payout.status != Payout.Status.PENDING:
            return payout
        account = PayoutAccount.objects.filter(creator_id=payout.creator_id, payouts_enabled=True).first()
        try:
            if account is None:
                raise stripe.InvalidRequestError("The creator has no payout account ready.", param="destination")
            transfer_id = stripe_gateway.transfer_create(
                amount=payout.amount,
                currency=payout.currency,
                destination=account.stripe_account_id,
                idempotency_key=f"tessera-payout-{payout.pk}",
                metadata={"payout_id": str(payout.pk)},
            )
        except stripe.InvalidRequestError as exc:
            # A refusal Stripe will repeat: return the money to the creator's balance, say why.
            payout.status = Payout.Status.FAILED
            payout.failure_reason = str(exc.user_message or exc)[:500]
            payout.save(update_fields=["status", "failure_reason"])
            ledger.mirror_record(
                original_reference=f"payout:{payout.pk}",
                kind=LedgerTransaction.Kind.PAYOUT_REVERSAL,
                reference=f"payout-reversal:{payout.pk}",
            )
            record(
                PayoutFailed(
                    payout_id=payout.pk,
                    creator_id=payout.creator_id,
                    amount=payout.amount,
                    currency=payout.currency,
                    reason=payout.failure_reason,
                )
            )
            logger.warning("payout %s failed: %s", payout.pk, payout.failure_reason)
            return payout
        payout.status = Payout.Status.PAID
        payout.stripe_transfer_id = transfer_id
        payout.sent_at = timezone.now()
        payout.save(update_fields=["status", "stripe_transfer_id", "sent_at"])
        LedgerTransaction.objects.filter(reference=f"payout:{payout.pk}").update(stripe_object_id=transfer_id)
        record(
            PayoutPaid(
                payout_id=payout.pk, creator_id=payout.creator_id, amount=payout.amount, currency=payout.currency
            )
        )
    return payout


def payouts_run() -> list[Payout]:
    """The scheduled run: a payout for every ready creator and currency at or above the minimum.

    Payouts left pending by an earlier run (their send was never published, or its job was lost) are sent
    again first; ``payout_send`` is idempotent (one Stripe idempotency key per payout).
    """
    from payments import tasks

    stale = Payout.objects.filter(status=Payout.Status.PENDING, created_at__lt=timezone.now() - timedelta(hours=1))
    for payout_id in stale.values_list("pk", flat=True):
        transaction.on_commit(partial(tasks.payout_send.delay, payout_id), robust=True)
    payouts = []
    for account in PayoutAccount.objects.filter(payouts_enabled=True).select_related("creator"):
        currencies = LedgerAccount.objects.filter(
            kind=LedgerAccount.Kind.CREATOR_PAYABLE, creator=account.creator
        ).values_list("currency", flat=True)
        for currency in currencies:
            payout = payout_create(creator=account.creator, currency=currency)
            if payout is not None:
                payouts.append(payout)
    return payouts


def payout_account_onboard_emulated(*, creator: Any) -> PayoutAccount:
    """Complete ``creator``'s Express onboarding on the local Stripe emulator, as their browser would (``make run``'s
    demo creator sells paid patterns from the first start). Refuses to run against real Stripe.

    The emulator keeps accounts in memory: an account it no longer knows (after a restart) is created again and
    the creator's row points at the new one. Payouts readiness then reaches catalog as in production
    (``payout_account_refresh``), which puts the creator's approved paid patterns waiting for payouts on sale.
    """
    if not settings.STRIPE_USES_LOCALSTRIPE:
        raise RuntimeError("emulated onboarding runs only against the local Stripe emulator")
    account = PayoutAccount.objects.filter(creator=creator).first()
    if account is not None:
        try:
            stripe_gateway.connect_account_retrieve(account_id=account.stripe_account_id)
        except stripe.InvalidRequestError:
            created = stripe_gateway.connect_account_create(
                email=creator.email,
                country="US",
                idempotency_key=f"tessera-connect-{creator.pk}-{int(timezone.now().timestamp())}",
            )
            account.stripe_account_id = created.id
            account.save(update_fields=["stripe_account_id", "updated_at"])
    return_url = "http://127.0.0.1/sell/start/"
    link = payout_account_onboarding_link(creator=creator, refresh_url=return_url, return_url=return_url)
    response = requests.post(link.split("?")[0], data={"return_url": return_url}, timeout=10, allow_redirects=False)
    if response.status_code != 302:
        raise RuntimeError(f"the emulator's onboarding answered {response.status_code}")
    refreshed = payout_account_refresh(creator=creator)
    if refreshed is None or not refreshed.payouts_enabled:
        raise RuntimeError("the emulator did not report the account ready")
    return refreshed
