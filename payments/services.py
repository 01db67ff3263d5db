"""Orders and payments: creating orders, and fulfilling them from verified Stripe webhooks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.services import event_record
from catalog import selectors as catalog_selectors
from catalog.models import User
from delivery import selectors as delivery_selectors
from delivery import services as delivery_services
from payments import stripe_gateway
from payments.models import Order, OrderItem, Payment, WebhookEvent

logger = logging.getLogger(__name__)


def order_create(*, buyer: User, pattern_ids: Sequence[int]) -> Order:
    """Create an order for published patterns the buyer does not own yet, and its PaymentIntent.

    A second identical request while the first order still awaits payment returns that order, so a
    double click never creates two charges. Free orders are fulfilled at once without Stripe.
    """
    unique_ids = list(dict.fromkeys(int(i) for i in pattern_ids))
    if not unique_ids:
        raise ValidationError({"pattern_ids": ["Choose at least one pattern."]})
    patterns = []
    problems = []
    owned = delivery_selectors.entitled_pattern_ids(buyer=buyer, pattern_ids=unique_ids)
    for pattern_id in unique_ids:
        pattern = catalog_selectors.pattern_get_published(pattern_id=pattern_id)
        if pattern is None:
            problems.append(f"Pattern {pattern_id} is not available.")
        elif pattern.creator_id == buyer.pk:
            problems.append(f"“{pattern.title}” is your own pattern.")
        elif pattern.pk in owned:
            problems.append(f"You already own “{pattern.title}”; it is in your library.")
        else:
            patterns.append(pattern)
    if problems:
        raise ValidationError({"pattern_ids": problems})
    currencies = {p.currency for p in patterns}
    if len(currencies) > 1:
        raise ValidationError({"pattern_ids": ["Patterns priced in different currencies must be bought separately."]})
    currency = currencies.pop()
    amount = sum(p.price for p in patterns)

    with transaction.atomic():
        # Serialise a buyer's order creation so that two clicks cannot both create an order.
        User.objects.select_for_update().filter(pk=buyer.pk).first()
        for existing in Order.objects.filter(buyer=buyer, status=Order.Status.PENDING).prefetch_related("items"):
            if sorted(item.pattern_id for item in existing.items.all()) == sorted(p.pk for p in patterns):
                return existing
        order = Order.objects.create(buyer=buyer, amount=amount, currency=currency)
        OrderItem.objects.bulk_create(
            [
                OrderItem(
                    order=order,
                    pattern=p,
                    creator_id=p.creator_id,
                    licence_id=p.licence_id,
                    price=p.price,
                    currency=p.currency,
                )
                for p in patterns
            ]
        )
        if amount == 0:
            _order_fulfil(order=order)
            return order
    intent = stripe_gateway.payment_intent_create(
        amount=amount,
        currency=currency,
        metadata={"order_id": str(order.pk), "buyer_id": str(buyer.pk)},
        idempotency_key=f"tessera-order-{order.pk}",
    )
    order.stripe_payment_intent_id = intent.id
    order.client_secret = intent.client_secret
    order.save(update_fields=["stripe_payment_intent_id", "client_secret"])
    return order


def _order_fulfil(*, order: Order) -> None:
    """Mark paid and grant entitlements. Must be called inside a transaction with ``order`` locked."""
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.save(update_fields=["status", "paid_at"])
    delivery_services.entitlements_grant_for_order(order=order)
    for item in order.items.select_related("pattern"):
        event_record(
            kind="purchase",
            user=order.buyer,
            pattern=item.pattern,
            metadata={"order_id": order.pk, "amount": item.price, "currency": item.currency},
        )


def webhook_handle(*, payload: bytes, signature_header: str) -> str:
    """Verify and apply one Stripe webhook. Returns what happened; raises ``WebhookSignatureError``.

    The event id is recorded in the same transaction as the state change, so a redelivered event
    changes nothing the second time.
    """
    event = stripe_gateway.webhook_event_construct(payload=payload, signature_header=signature_header)
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(stripe_event_id=event["id"], type=event["type"], payload=event)
        except IntegrityError:
            return "duplicate"
        handler = _HANDLERS.get(event["type"])
        if handler is None:
            return "ignored"
        return handler(event["data"]["object"])


def _charge_id(charge: Any) -> str:
    # Stripe sends the charge id; localstripe (and expanded API responses) send the charge object.
    if isinstance(charge, dict):
        return str(charge.get("id", ""))
    return str(charge or "")


def _payment_intent_succeeded(intent: dict[str, Any]) -> str:
    order = Order.objects.select_for_update().filter(stripe_payment_intent_id=intent["id"]).first()
    if order is None:
        logger.warning("payment_intent.succeeded for unknown intent %s", intent["id"])
        return "unknown-order"
    if order.status == Order.Status.PAID:
        return "already-paid"
    if int(intent["amount"]) != order.amount or str(intent["currency"]).upper() != order.currency:
        order.status = Order.Status.FAILED
        order.failure_reason = "The amount paid does not match the order total."
        order.save(update_fields=["status", "failure_reason"])
        logger.error("amount mismatch for order %s: %s %s", order.pk, intent["amount"], intent["currency"])
        return "amount-mismatch"
    Payment.objects.create(
        order=order,
        stripe_payment_intent_id=intent["id"],
        stripe_charge_id=_charge_id(intent.get("latest_charge")),
        amount=int(intent["amount"]),
        currency=str(intent["currency"]).upper(),
        status="succeeded",
    )
    _order_fulfil(order=order)
    return "fulfilled"


def _payment_intent_failed(intent: dict[str, Any]) -> str:
    order = Order.objects.select_for_update().filter(stripe_payment_intent_id=intent["id"]).first()
    if order is None or order.status != Order.Status.PENDING:
        return "ignored"
    error = intent.get("last_payment_error") or {}
    order.failure_reason = str(error.get("message") or "The card was declined.")
    order.save(update_fields=["failure_reason"])
    return "recorded-failure"


_HANDLERS = {
    "payment_intent.succeeded": _payment_intent_succeeded,
    "payment_intent.payment_failed": _payment_intent_failed,
}
