"""Creator payouts through Connect (emulated), the ledger under concurrency, and reconciliation with Stripe."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from catalog.models import Pattern
from payments import ledger, payouts, services
from payments.models import LedgerTransaction, Order, Payout, PayoutAccount
from payments.reconciliation import reconcile
from tests.factories import OrderFactory, PatternFactory, UserFactory, order_item_add
from tests.payments.test_webhooks import _post, _signed


def _sale(creator: Any, price: int) -> Order:
    """A paid order for one of ``creator``'s patterns, booked in the ledger."""
    pattern = PatternFactory.create(creator=creator, price=price)
    order = OrderFactory.create(amount=price, status=Order.Status.PAID)
    order_item_add(order=order, pattern=pattern)
    ledger.sale_record(order=order)
    return order


def _onboard(creator: Any) -> PayoutAccount:
    """Go through the (emulated) Express onboarding the way a creator's browser does."""
    link = payouts.payout_account_onboarding_link(
        creator=creator, refresh_url="http://testserver/payouts/", return_url="http://testserver/payouts/done/"
    )
    form = requests.post(
        link.split("?")[0], data={"return_url": "http://testserver/payouts/done/"}, timeout=10, allow_redirects=False
    )
    assert (form.status_code, form.headers["Location"]) == (302, "http://testserver/payouts/done/")
    account = payouts.payout_account_refresh(creator=creator)
    assert account is not None
    return account


@pytest.fixture
def no_hold(settings: Any) -> None:
    settings.TESSERA_PAYOUT_HOLD_DAYS = 0
    settings.TESSERA_PAYOUT_MINIMUM = 100


@pytest.mark.django_db
def test_creator_onboards_and_is_paid_what_they_earned(localstripe: str, no_hold: None) -> None:
    creator = UserFactory.create()
    for price in (1000, 500):
        _sale(creator, price)
    account = _onboard(creator)
    assert (account.details_submitted, account.payouts_enabled) == (True, True)
    assert ledger.creator_balance(creator=creator, currency="USD") == 880 + 440
    [payout] = payouts.payouts_run()
    assert (payout.amount, payout.status) == (1320, "pending")
    assert payouts.payouts_run() == []  # one payout in flight at a time
    payouts.payout_send(payout_id=payout.pk)
    payouts.payout_send(payout_id=payout.pk)  # a retried task sends nothing twice
    payout.refresh_from_db()
    assert payout.status == "paid"
    assert payout.stripe_transfer_id.startswith("tr_")
    assert ledger.creator_balance(creator=creator, currency="USD") == 0
    assert ledger.trial_balance() == 0
    auth = {"Authorization": f"Bearer {django_settings.STRIPE_SECRET_KEY}"}
    transfers = requests.get(f"{localstripe}/v1/transfers", headers=auth, timeout=10).json()["data"]
    mine = [t for t in transfers if t["destination"] == account.stripe_account_id]
    assert [(t["id"], t["amount"]) for t in mine] == [(payout.stripe_transfer_id, 1320)]
    assert payouts.payouts_run() == []


@pytest.mark.django_db
def test_a_refused_transfer_fails_the_payout_and_returns_the_money(localstripe: str, no_hold: None) -> None:
    creator = UserFactory.create()
    _sale(creator, 1000)
    payouts.payout_account_onboarding_link(creator=creator, refresh_url="http://x/", return_url="http://x/")
    # Our record says ready, Stripe (the emulator) knows onboarding was never finished.
    PayoutAccount.objects.filter(creator=creator).update(payouts_enabled=True)
    [payout] = payouts.payouts_run()
    payouts.payout_send(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == "failed"
    assert "onboarding" in payout.failure_reason
    assert ledger.creator_balance(creator=creator, currency="USD") == 880
    assert list(LedgerTransaction.objects.values_list("kind", flat=True)) == ["sale", "payout", "payout_reversal"]


@pytest.mark.django_db
def test_recent_sales_are_held_back(settings: Any) -> None:
    settings.TESSERA_PAYOUT_HOLD_DAYS = 7
    creator = UserFactory.create()
    _sale(creator, 1000)
    assert ledger.creator_balance(creator=creator, currency="USD") == 880
    assert ledger.creator_balance(creator=creator, currency="USD", available_only=True) == 0
    assert payouts.payout_create(creator=creator, currency="USD") is None


@pytest.mark.django_db(transaction=True)
def test_balances_stay_exact_under_concurrent_sales_payouts_and_webhooks(no_hold: None) -> None:
    creator = UserFactory.create()
    PayoutAccount.objects.create(creator=creator, stripe_account_id="acct_concurrency", payouts_enabled=True)
    refunded = _sale(creator, 2000)
    refunded.stripe_payment_intent_id = "pi_concurrency"
    refunded.paid_at = refunded.created_at
    refunded.save()
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []
    charge = {
        "id": "ch_c",
        "amount": 2000,
        "amount_refunded": 2000,
        "payment_intent": "pi_concurrency",
        "refunds": {"data": [{"id": "re_c"}]},
    }
    payload = json.dumps({"id": "evt_c", "type": "charge.refunded", "data": {"object": charge}}).encode()

    def run(work: Any) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 - collected and re-raised in the test thread
            errors.append(exc)
        finally:
            connection.close()

    work = (
        [lambda: payouts.payout_create(creator=creator, currency="USD")] * 4
        + [lambda: _sale(creator, 500)] * 4
        + [lambda: services.webhook_handle(payload=payload, signature_header=_signed(payload))] * 2
    )
    threads = [threading.Thread(target=run, args=(w,)) for w in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    earned = 1760 + 4 * 440 - 1760  # four sales of 500 (fee 60 each); the 2000 sale refunded once
    paid_out = sum(Payout.objects.filter(creator=creator).values_list("amount", flat=True))
    assert Payout.objects.filter(creator=creator).count() == 1
    assert LedgerTransaction.objects.filter(kind="refund").count() == 1
    assert ledger.creator_balance(creator=creator, currency="USD") == earned - paid_out
    assert ledger.trial_balance() == 0


@pytest.mark.django_db
def test_reconciliation_matches_the_ledger_with_stripe(localstripe: str, client: Any, no_hold: None) -> None:
    auth = {"Authorization": f"Bearer {django_settings.STRIPE_SECRET_KEY}"}
    requests.delete(f"{localstripe}/_config/data", timeout=10)  # only this test's movements at Stripe
    buyer, pattern = UserFactory.create(), PatternFactory.create(price=1500)
    order = services.order_create(buyer=buyer, pattern_ids=[pattern.pk])
    from payments import stripe_gateway

    stripe_gateway.payment_intent_confirm_test_card(
        payment_intent_id=order.stripe_payment_intent_id or "",
        card={"number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"},
    )
    intent = requests.get(
        f"{localstripe}/v1/payment_intents/{order.stripe_payment_intent_id}", headers=auth, timeout=10
    ).json()
    paid = json.dumps({"id": "evt_rec_1", "type": "payment_intent.succeeded", "data": {"object": intent}}).encode()
    assert _post(client, paid, _signed(paid)).json()["outcome"] == "fulfilled"
    order.refresh_from_db()
    services.order_refund(order=order, amount=500)
    charge_id = intent["latest_charge"]["id"] if isinstance(intent["latest_charge"], dict) else intent["latest_charge"]
    charge = requests.get(f"{localstripe}/v1/charges/{charge_id}", headers=auth, timeout=10).json()
    refunds = requests.get(f"{localstripe}/v1/refunds", params={"charge": charge_id}, headers=auth, timeout=10).json()
    charge.update(amount_refunded=500, refunds={"data": refunds["data"]})
    refunded = json.dumps({"id": "evt_rec_2", "type": "charge.refunded", "data": {"object": charge}}).encode()
    assert _post(client, refunded, _signed(refunded)).json()["outcome"] == "partially-refunded"
    _onboard(pattern.creator)
    [payout] = payouts.payouts_run()
    payouts.payout_send(payout_id=payout.pk)
    report = reconcile()
    assert report.differences == []
    assert report.matched == 3  # the charge, the refund and the transfer
    # 1500 in, 500 back to the buyer, the creator's remaining share (1000 − 12%) out.
    assert report.stripe_total == report.ledger_total == {"USD": 1500 - 500 - 880}
    ledger.transaction_record(
        kind="sale",
        reference="sale:forged",
        lines=[
            ledger.Line(ledger.account("stripe_balance", "USD"), 100),
            ledger.Line(ledger.account("platform_fees", "USD"), -100),
        ],
        stripe_object_id="ch_missing",
    )
    assert reconcile().differences == ["ch_missing: in the ledger (100) but not at Stripe"]


@pytest.mark.django_db
def test_earnings_page_shows_balance_lines_and_onboarding(localstripe: str, client: Any, no_hold: None) -> None:
    creator = UserFactory.create()
    order = _sale(creator, 1000)
    client.force_login(creator)
    page = client.get("/sell/earnings/")
    assert page.status_code == 200
    assert page.context["balances"] == [{"currency": "USD", "balance": 880, "available": 880, "held": 0}]
    assert [(line["kind"], line["amount"], line["order_id"]) for line in page.context["lines"]] == [
        ("Sale", 880, order.pk)
    ]
    assert "Set up payouts with Stripe" in page.content.decode()
    start = client.post("/sell/earnings/payouts/")
    assert start.status_code == 302
    assert "/_config/emulator/onboard/acct_" in start["Location"]
    requests.post(start["Location"].split("?")[0], data={"return_url": "x"}, timeout=10, allow_redirects=False)
    done = client.get("/sell/earnings/?onboarding=done")
    assert done.context["account"].payouts_enabled is True
    assert "Payouts go to your Stripe account" in done.content.decode()


@pytest.mark.django_db
def test_make_runs_demo_creator_is_onboarded_on_the_emulator_and_paid_patterns_waiting_go_on_sale(
    localstripe: str, settings: Any
) -> None:
    """``manage.py demo_payouts`` (run by make run after seeding): the emulator's onboarding, then Connect's answer,
    publishes what waited for payouts; after an emulator restart (it forgets accounts) it onboards a new account."""
    settings.TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH = True
    mia = UserFactory.create(username="maker_mia")
    waiting = PatternFactory.create(creator=mia, price=450, status=Pattern.Status.DRAFT, published_at=None)
    Pattern.objects.filter(pk=waiting.pk).update(awaiting_payouts=True)

    call_command("demo_payouts", "maker_mia")
    account = PayoutAccount.objects.get(creator=mia)
    assert (account.details_submitted, account.payouts_enabled) == (True, True)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.awaiting_payouts) == (Pattern.Status.PUBLISHED, False)
    assert waiting.published_at is not None

    # The emulator restarted and no longer knows the account: a new one is onboarded, nothing else changes.
    PayoutAccount.objects.filter(pk=account.pk).update(stripe_account_id="acct_forgotten", payouts_enabled=False)
    call_command("demo_payouts", "maker_mia")
    account.refresh_from_db()
    assert account.stripe_account_id not in ("acct_forgotten", "")
    assert account.payouts_enabled is True
    assert PayoutAccount.objects.filter(creator=mia).count() == 1

    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("demo_payouts", "nobody")
    settings.STRIPE_USES_LOCALSTRIPE = False
    with pytest.raises(CommandError, match="only against the local Stripe emulator"):
        call_command("demo_payouts", "maker_mia")
