"""Stripe Tax switched on (against the emulator's flat rates): totals, the ledger's tax account, refunds."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings

from payments import ledger, services
from payments.models import Order
from tests.factories import PatternFactory, UserFactory
from tests.payments.test_webhooks import _post, _signed

pytestmark = pytest.mark.django_db


def _pay(client: Any, order: Order) -> None:
    payload = json.dumps(
        {
            "id": f"evt_tax_{order.pk}",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": order.stripe_payment_intent_id, "amount": order.amount, "currency": "usd"}},
        }
    ).encode()
    assert _post(client, payload, _signed(payload)).json()["outcome"] == "fulfilled"


def _refund(client: Any, order: Order, cumulative: int, event_id: str) -> None:
    charge = {"id": "ch_t", "amount_refunded": cumulative, "payment_intent": order.stripe_payment_intent_id}
    payload = json.dumps({"id": event_id, "type": "charge.refunded", "data": {"object": charge}}).encode()
    assert _post(client, payload, _signed(payload)).status_code == 200


def test_exclusive_prices_add_tax_to_the_total(localstripe: str, client: Any, settings: Any) -> None:
    settings.STRIPE_TAX_ENABLED, settings.TESSERA_PRICES_INCLUDE_TAX = True, False
    pattern = PatternFactory.create(price=1000)
    order = services.order_create(buyer=UserFactory.create(), pattern_ids=[pattern.pk], country="GB")
    assert (order.amount, order.tax_amount) == (1200, 200)
    assert order.tax_calculation_id.startswith("taxcalc_")
    auth = {"Authorization": f"Bearer {django_settings.STRIPE_SECRET_KEY}"}
    intent = requests.get(
        f"{localstripe}/v1/payment_intents/{order.stripe_payment_intent_id}", headers=auth, timeout=10
    )
    assert intent.json()["amount"] == 1200
    _pay(client, order)
    assert ledger.account_balance(kind="tax_payable", currency="USD") == -200
    assert ledger.creator_balance(creator=pattern.creator, currency="USD") == 880
    assert ledger.account_balance(kind="platform_fees", currency="USD") == -120
    from payments.tasks import tax_transaction_record

    tax_transaction_record(order.pk)  # the task the fulfilment queues: Stripe Tax records the sale


def test_inclusive_prices_contain_the_tax(localstripe: str, client: Any, settings: Any) -> None:
    settings.STRIPE_TAX_ENABLED, settings.TESSERA_PRICES_INCLUDE_TAX = True, True
    pattern = PatternFactory.create(price=1200)
    order = services.order_create(buyer=UserFactory.create(), pattern_ids=[pattern.pk], country="GB")
    assert (order.amount, order.tax_amount) == (1200, 200)
    _pay(client, order)
    # Fees and shares are taken from the price net of tax: 1000, of which 12% is Tessera's.
    assert ledger.account_balance(kind="tax_payable", currency="USD") == -200
    assert ledger.creator_balance(creator=pattern.creator, currency="USD") == 880
    assert ledger.account_balance(kind="platform_fees", currency="USD") == -120


def test_refunds_in_awkward_parts_return_every_account_to_zero(localstripe: str, client: Any, settings: Any) -> None:
    settings.STRIPE_TAX_ENABLED, settings.TESSERA_PRICES_INCLUDE_TAX = True, False
    patterns = [PatternFactory.create(price=p) for p in (999, 333, 1)]
    order = services.order_create(buyer=UserFactory.create(), pattern_ids=[p.pk for p in patterns], country="NL")
    assert order.tax_amount == 210 + 70 + 0
    _pay(client, order)
    for step, cumulative in enumerate((7, 500, 1111, order.amount)):
        _refund(client, order, cumulative, f"evt_part_{step}")
    for kind in ("stripe_balance", "platform_fees", "tax_payable"):
        assert ledger.account_balance(kind=kind, currency="USD") == 0
    for pattern in patterns:
        assert ledger.creator_balance(creator=pattern.creator, currency="USD") == 0
    assert ledger.trial_balance() == 0
