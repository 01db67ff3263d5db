"""Every call to Stripe goes through this module (localstripe in development and tests)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings


class WebhookSignatureError(ValueError):
    """The webhook payload is not signed by our endpoint secret, or is too old."""


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    client_secret: str
    status: str
    amount: int
    currency: str


def _client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )


def payment_intent_create(
    *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
) -> PaymentIntent:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "metadata": metadata,
        "payment_method_types": ["card"],
    }
    intent = _client().v1.payment_intents.create(
        params=params,  # type: ignore[arg-type]
        options={"idempotency_key": idempotency_key},
    )
    return PaymentIntent(
        id=intent.id,
        client_secret=intent.client_secret or "",
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency.upper(),
    )


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntent:
    intent = _client().v1.payment_intents.retrieve(payment_intent_id)
    return PaymentIntent(
        id=intent.id,
        client_secret=intent.client_secret or "",
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency.upper(),
    )


def payment_intent_card(*, payment_intent_id: str) -> tuple[str, str, str]:
    """The brand, last four digits and issuing country (ISO code) of the card that paid a PaymentIntent ("" when
    it was not a card, or not reported)."""
    intent = _client().v1.payment_intents.retrieve(payment_intent_id, params={"expand": ["payment_method"]})
    method = intent.payment_method
    card = getattr(method, "card", None) if method is not None and not isinstance(method, str) else None
    if card is None:
        return "", "", ""
    country = str(getattr(card, "country", "") or "").upper()
    return str(card.brand or "")[:20], str(card.last4 or "")[:4], country if len(country) == 2 else ""


def payment_intent_cancel(*, payment_intent_id: str) -> str:
    """Cancel a PaymentIntent that must not be paid any more (its order was replaced); returns its status."""
    intent = _client().v1.payment_intents.cancel(payment_intent_id)
    return str(intent.status)


def webhook_event_construct(*, payload: bytes, signature_header: str) -> dict[str, Any]:
    """Verify the signature and timestamp tolerance, and return the event as a plain dict."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookSignatureError("No webhook secret is configured.")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature_header,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise WebhookSignatureError(str(exc)) from exc
    # Stripe's check is one-sided (too old only); a timestamp from the future is refused as well.
    timestamp = int(dict(part.split("=", 1) for part in signature_header.split(",") if "=" in part)["t"])
    if timestamp > time.time() + settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureError(f"Timestamp {timestamp} is in the future, beyond the tolerance.")
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise WebhookSignatureError("The payload is not JSON.") from exc
    if not isinstance(event, dict) or "id" not in event or "type" not in event:
        raise WebhookSignatureError("The payload is not a Stripe event.")
    return event


def payment_intent_confirm_test_card(*, payment_intent_id: str, card: dict[str, str]) -> PaymentIntent:
    """Development only: confirm with raw test-card data, which localstripe accepts and Stripe does not.

    Real Stripe confirms on the client with Stripe.js, so this is refused when a real key is configured.
    """
    if not settings.STRIPE_USES_LOCALSTRIPE:
        raise RuntimeError("Raw card confirmation is only for the local Stripe emulator.")
    client = _client()
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {
                "number": card["number"],
                "exp_month": int(card["exp_month"]),
                "exp_year": int(card["exp_year"]),
                "cvc": card["cvc"],
            },
        }
    )
    # Attach first, then confirm: the order Stripe accepts and the only one localstripe implements.
    client.v1.payment_intents.update(payment_intent_id, params={"payment_method": method.id})
    intent = client.v1.payment_intents.confirm(payment_intent_id)
    return PaymentIntent(
        id=intent.id,
        client_secret=intent.client_secret or "",
        status=intent.status,
        amount=intent.amount,
        currency=intent.currency.upper(),
    )


def refund_create(
    *, payment_intent_id: str, amount: int | None, idempotency_key: str, metadata: dict[str, str] | None = None
) -> str:
    """Ask Stripe to refund (part of) a payment; the books change when ``charge.refunded`` arrives.

    ``metadata`` travels with the refund (Stripe's dashboard shows it, and so does the webhook).
    """
    params: dict[str, Any] = {"payment_intent": payment_intent_id}
    if amount is not None:
        params["amount"] = amount
    if metadata:
        params["metadata"] = metadata
    refund = _client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})  # type: ignore[arg-type]
    return str(refund.id)


# --- Stripe Tax --------------------------------------------------------------------------------------
# localstripe has no Tax API; marketplace/stripe_emulator.py answers these two calls with a flat rate
# table so that our code around them runs in tests. Production uses Stripe's real calculation.


def tax_calculate(
    *, currency: str, lines: list[tuple[str, int]], customer_country: str, inclusive: bool
) -> tuple[int, str]:
    """Stripe Tax for the order lines (reference, amount); returns (tax in or on them, calculation id)."""
    calculation = _client().v1.tax.calculations.create(
        params={
            "currency": currency.lower(),
            "customer_details": {"address": {"country": customer_country}, "address_source": "billing"},
            "line_items": [
                {
                    "amount": amount,
                    "reference": reference,
                    "tax_behavior": "inclusive" if inclusive else "exclusive",
                    "tax_code": "txcd_10000000",  # electronically supplied services / digital goods
                }
                for reference, amount in lines
            ],
        }  # type: ignore[typeddict-item]
    )
    tax = calculation.tax_amount_inclusive if inclusive else calculation.tax_amount_exclusive
    return int(tax or 0), str(calculation.id)


def tax_transaction_create(*, calculation_id: str, reference: str) -> str:
    """Record a paid order's tax with Stripe Tax (what its reports and filings are built from)."""
    created = _client().v1.tax.transactions.create_from_calculation(
        params={"calculation": calculation_id, "reference": reference},
        options={"idempotency_key": f"tessera-tax-{reference}"},
    )
    return str(created.id)


# --- Connect (Express accounts, transfers) ----------------------------------------------------------
# localstripe has no Connect API; development and tests run marketplace/stripe_emulator.py, which adds
# these endpoints in memory. Against real Stripe the same calls go to api.stripe.com.


@dataclass(frozen=True)
class ConnectAccount:
    id: str
    details_submitted: bool
    payouts_enabled: bool


def connect_account_create(*, email: str, country: str, idempotency_key: str) -> ConnectAccount:
    created = _client().v1.accounts.create(
        params={
            "type": "express",
            "email": email,
            "country": country,
            "capabilities": {"transfers": {"requested": True}},
        },
        options={"idempotency_key": idempotency_key},
    )
    return ConnectAccount(created.id, bool(created.details_submitted), bool(created.payouts_enabled))


def connect_account_retrieve(*, account_id: str) -> ConnectAccount:
    found = _client().v1.accounts.retrieve(account_id)
    return ConnectAccount(found.id, bool(found.details_submitted), bool(found.payouts_enabled))


def connect_onboarding_link(*, account_id: str, refresh_url: str, return_url: str) -> str:
    link = _client().v1.account_links.create(
        params={
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return str(link.url)


def transfer_create(
    *, amount: int, currency: str, destination: str, idempotency_key: str, metadata: dict[str, str]
) -> str:
    transfer = _client().v1.transfers.create(
        params={"amount": amount, "currency": currency.lower(), "destination": destination, "metadata": metadata},
        options={"idempotency_key": idempotency_key},
    )
    return str(transfer.id)


@dataclass(frozen=True)
class BalanceTransaction:
    id: str
    type: str
    amount: int
    currency: str
    source: str


def balance_transactions() -> Iterator[BalanceTransaction]:
    """Every balance transaction on the platform account, newest first."""
    page = _client().v1.balance_transactions.list(params={"limit": 100})
    for txn in page.auto_paging_iter():
        yield BalanceTransaction(txn.id, txn.type, int(txn.amount), txn.currency.upper(), str(txn.source or ""))
