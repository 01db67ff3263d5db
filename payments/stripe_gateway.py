"""Every call to Stripe goes through this module (localstripe in development and tests)."""

from __future__ import annotations

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
    intent = _client().v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": currency.lower(),
            "metadata": metadata,
            "payment_method_types": ["card"],
        },  # type: ignore[typeddict-unknown-key]
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
    import json

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
