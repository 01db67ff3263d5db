"""Orders and payments: creating orders, and fulfilling them from verified Stripe webhooks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import Licence, User
from marketplace.events import record as record_event
from payments import ledger, stripe_gateway
from payments.events import OrderCreated, OrderDisputed, OrderPaid, OrderRefunded
from payments.models import Dispute, LedgerTransaction, Order, OrderItem, Payment, PayoutAccount, Refund, WebhookEvent
from payments.selectors import patterns_held

logger = logging.getLogger(__name__)
COMMERCIAL_LICENCE = "commercial"


def licence_tier_for(*, pattern: Any, commercial: bool) -> tuple[Licence, int]:
    """The licence and price a buyer gets: the pattern's own, or its Commercial tier when asked for."""
    if not commercial:
        return pattern.licence, pattern.price
    if pattern.licence.code == COMMERCIAL_LICENCE:
        return pattern.licence, pattern.price
    if pattern.commercial_price is None:
        raise ValidationError({"commercial_ids": [f"“{pattern.title}” is not offered with a commercial licence."]})
    return Licence.objects.get(code=COMMERCIAL_LICENCE), pattern.commercial_price


def order_create(
    *, buyer: User, pattern_ids: Sequence[int], commercial_ids: Sequence[int] = (), country: str = ""
) -> Order:
    """Create an order for published patterns the buyer does not own yet, and its PaymentIntent.

    ``commercial_ids`` are the patterns bought with the Commercial licence tier; ``country`` (ISO code)
    is where the buyer is taxed when Stripe Tax is on. A second identical
    request while the first order still awaits payment returns that order, so a double click never
    creates two charges. Free orders are fulfilled at once without Stripe.
    """
    unique_ids = list(dict.fromkeys(int(i) for i in pattern_ids))
    commercial = {int(i) for i in commercial_ids}
    if not unique_ids:
        raise ValidationError({"pattern_ids": ["Choose at least one pattern."]})
    patterns = []
    problems = []
    owned = patterns_held(buyer=buyer, pattern_ids=unique_ids)
    for pattern_id in unique_ids:
        pattern = catalog_selectors.pattern_get_published(pattern_id=pattern_id)
        if pattern is None:
            problems.append(f"Pattern {pattern_id} is not available.")
        elif pattern.creator_id == buyer.pk:
            problems.append(f"“{pattern.title}” is your own pattern.")
        elif pattern.pk in owned:
            problems.append(f"You already own “{pattern.title}”; it is in your library.")
        elif catalog_selectors.creator_selling_suspended(user_id=pattern.creator_id):
            problems.append(f"“{pattern.title}” cannot be bought at the moment: its creator's selling is suspended.")
        else:
            patterns.append(pattern)
    if problems:
        raise ValidationError({"pattern_ids": problems})
    currencies = {p.currency for p in patterns}
    if len(currencies) > 1:
        raise ValidationError({"pattern_ids": ["Patterns priced in different currencies must be bought separately."]})
    currency = currencies.pop()
    tiers = {p.pk: licence_tier_for(pattern=p, commercial=p.pk in commercial) for p in patterns}
    amount = sum(price for _licence, price in tiers.values())

    superseded: list[Order] = []
    with transaction.atomic():
        # Serialise a buyer's order creation so that two clicks cannot both create an order.
        User.objects.select_for_update().filter(pk=buyer.pk).first()
        # Checked again under the lock: a free order (or a "Get it free") that committed since the first
        # check already granted the pattern, and a second grant would break the one-entitlement rule.
        owned_now = patterns_held(buyer=buyer, pattern_ids=[p.pk for p in patterns])
        if owned_now:
            raise ValidationError(
                {
                    "pattern_ids": [
                        f"You already own “{p.title}”; it is in your library." for p in patterns if p.pk in owned_now
                    ]
                }
            )
        wanted = sorted((p.pk, tiers[p.pk][0].pk) for p in patterns)
        pending = list(Order.objects.filter(buyer=buyer, status=Order.Status.PENDING).prefetch_related("items"))
        for existing in pending:
            if sorted((item.pattern_id, item.licence_id) for item in existing.items.all()) == wanted:
                return existing
        # The newest checkout is what the buyer wants now: an older unpaid order sharing a pattern with
        # it is cancelled, so that paying both cannot charge twice for one pattern.
        wanted_ids = {p.pk for p in patterns}
        superseded = [o for o in pending if wanted_ids & {item.pattern_id for item in o.items.all()}]
        order = Order.objects.create(buyer=buyer, amount=amount, currency=currency)
        for old in superseded:
            old.status = Order.Status.CANCELLED
            old.failure_reason = f"Replaced by order #{order.pk}."
            old.save(update_fields=["status", "failure_reason"])
        OrderItem.objects.bulk_create(
            [
                OrderItem(
                    order=order,
                    pattern=p,
                    creator_id=p.creator_id,
                    licence=tiers[p.pk][0],
                    price=tiers[p.pk][1],
                    currency=p.currency,
                    platform_fee=ledger.platform_fee_for(tiers[p.pk][1]),
                )
                for p in patterns
            ]
        )
        _order_created_record(order=order, pattern_ids=[p.pk for p in patterns])
        if amount == 0:
            _order_fulfil(order=order, actor_id=buyer.pk)
    _payment_intents_cancel(orders=superseded)
    if amount == 0:
        return order
    if settings.STRIPE_TAX_ENABLED:
        order = _order_apply_tax(order=order, country=country or settings.TESSERA_TAX_DEFAULT_COUNTRY)
    intent = stripe_gateway.payment_intent_create(
        amount=order.amount,
        currency=currency,
        metadata={"order_id": str(order.pk), "buyer_id": str(buyer.pk)},
        idempotency_key=f"tessera-order-{order.pk}",
    )
    order.stripe_payment_intent_id = intent.id
    order.client_secret = intent.client_secret
    order.save(update_fields=["stripe_payment_intent_id", "client_secret"])
    return order


class NotFree(ValueError):
    """The pattern is not free: it is bought through the cart and checkout."""


def pattern_claim_free(*, buyer: User, pattern_id: int) -> tuple[Order | None, bool]:
    """Give a signed-in buyer a free pattern at once: no cart, no checkout, no Stripe.

    Books it as a paid order of 0 (its only line priced 0, no ledger transaction, no PaymentIntent), which
    grants the entitlement in the same transaction, so the library and the order history agree and the
    ledger's trial balance is untouched. Idempotent: when the buyer already holds the pattern (a double
    click, two tabs), nothing is created and ``(None, False)`` is returned. Raises ``ValidationError`` for
    a pattern that is not published or is the buyer's own, and ``NotFree`` for one with a price.
    """
    pattern = catalog_selectors.pattern_get_published(pattern_id=pattern_id)
    if pattern is None:
        raise ValidationError("This pattern is not available.")
    if pattern.creator_id == buyer.pk:
        raise ValidationError(f"“{pattern.title}” is your own pattern.")
    if pattern.price != 0:
        raise NotFree(f"“{pattern.title}” is not free.")
    with transaction.atomic():
        # The buyer's row lock serialises this with order creation and fulfilment: two clicks, one grant.
        User.objects.select_for_update().filter(pk=buyer.pk).first()
        if patterns_held(buyer=buyer, pattern_ids=[pattern.pk]):
            return None, False
        order = Order.objects.create(buyer=buyer, amount=0, currency=pattern.currency)
        OrderItem.objects.create(
            order=order,
            pattern=pattern,
            creator_id=pattern.creator_id,
            licence=pattern.licence,
            price=0,
            currency=pattern.currency,
            platform_fee=0,
        )
        _order_created_record(order=order, pattern_ids=[pattern.pk])
        _order_fulfil(order=order, actor_id=buyer.pk)
    logger.info("free pattern %s granted to buyer %s in order %s", pattern.pk, buyer.pk, order.pk)
    return order, True


def _payment_intents_cancel(*, orders: Sequence[Order]) -> None:
    """Cancel the PaymentIntents of cancelled orders, so that they can no longer be paid.

    Best effort: one that was paid meanwhile cannot be cancelled, and its success still ends in a
    terminal state (the lines the buyer owns by then are refunded at fulfilment).
    """
    for order in orders:
        if not order.stripe_payment_intent_id:
            continue
        try:
            stripe_gateway.payment_intent_cancel(payment_intent_id=order.stripe_payment_intent_id)
        except stripe.StripeError as exc:
            logger.warning("could not cancel %s of order %s: %s", order.stripe_payment_intent_id, order.pk, exc)


def _order_apply_tax(*, order: Order, country: str) -> Order:
    """Ask Stripe Tax for the order's tax. Exclusive prices add it to the total; inclusive ones contain it."""
    inclusive = settings.TESSERA_PRICES_INCLUDE_TAX
    tax, calculation_id = stripe_gateway.tax_calculate(
        currency=order.currency,
        lines=[(f"item-{item.pk}", item.price) for item in order.items.all()],
        customer_country=country,
        inclusive=inclusive,
    )
    order.tax_amount = tax
    order.tax_calculation_id = calculation_id
    if not inclusive:
        order.amount += tax
    order.save(update_fields=["tax_amount", "tax_calculation_id", "amount"])
    return order


def _order_created_record(*, order: Order, pattern_ids: list[int]) -> None:
    record_event(
        OrderCreated(
            order_id=order.pk,
            buyer_id=order.buyer_id,
            total=order.amount,
            currency=order.currency,
            pattern_ids=pattern_ids,
            actor_id=order.buyer_id,
        )
    )


def order_paid_event(*, order: Order, actor_id: int | None) -> OrderPaid:
    """The ``order.paid`` event of ``order``: the lines this payment delivers (one the buyer already owned is
    refunded at once, not sold)."""
    items = order.items.filter(already_owned=False).select_related("licence").order_by("pk")
    return OrderPaid(
        order_id=order.pk,
        buyer_id=order.buyer_id,
        total=order.amount,
        currency=order.currency,
        items=[
            {
                "item_id": item.pk,
                "pattern_id": item.pattern_id,
                "creator_id": item.creator_id,
                "licence": item.licence.code,
                "price": item.price,
            }
            for item in items
        ],
        actor_id=actor_id,
    )


def _order_fulfil(*, order: Order, stripe_object_id: str = "", actor_id: int | None = None) -> None:
    """Mark paid, book the sale and record ``order.paid``. Call in a transaction with ``order`` locked.

    The entitlements are granted by delivery's inline handler of ``order.paid``, in this transaction; the analytics
    purchase rows come from the outbox after commit. ``actor_id``: the buyer of a free order, None for Stripe.
    """
    order.status = Order.Status.PAID
    order.paid_at = timezone.now()
    order.save(update_fields=["status", "paid_at"])
    if order.amount:
        ledger.sale_record(order=order, stripe_object_id=stripe_object_id)
    if order.tax_calculation_id:
        from payments import tasks

        transaction.on_commit(partial(tasks.tax_transaction_record.delay, order.pk), robust=True)
    record_event(order_paid_event(order=order, actor_id=actor_id))


class WebhookPayloadError(ValueError):
    """A correctly signed event whose content is not what Stripe sends for its type."""


class WebhookRetryLater(RuntimeError):
    """Applying the event needs Stripe, which could not be reached: nothing was saved, Stripe will retry."""


def webhook_handle(*, payload: bytes, signature_header: str) -> str:
    """Verify and apply one Stripe webhook. Returns what happened.

    Raises ``WebhookSignatureError`` (not from Stripe), ``WebhookPayloadError`` (signed, but malformed)
    or ``WebhookRetryLater`` (Stripe unreachable while refunding); in each case nothing is saved. The
    event id is recorded in the same transaction as the state change, so a redelivered event changes
    nothing the second time. An event about a payment not known to have succeeded yet is kept and
    applied when the payment succeeds.
    """
    event = stripe_gateway.webhook_event_construct(payload=payload, signature_header=signature_header)
    if not isinstance(event["id"], str) or not isinstance(event["type"], str) or len(event["type"]) > 64:
        raise WebhookPayloadError("The event's id and type must be strings.")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise WebhookPayloadError("The event has no data.object.")
    obj = data["object"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(stripe_event_id=event["id"], type=event["type"], payload=event)
        except IntegrityError:
            return "duplicate"
        handler = _HANDLERS.get(event["type"])
        if handler is None:
            outcome = "ignored"
        else:
            try:
                outcome = handler(obj)
            except (KeyError, TypeError, ValueError, AttributeError, DataError) as exc:
                raise WebhookPayloadError(f"The {event['type']} event is malformed: {exc!r}") from exc
            except stripe.StripeError as exc:
                raise WebhookRetryLater(str(exc)) from exc
        intent_id = _event_payment_intent_id(event_type=record.type, obj=obj)
        record.outcome = outcome
        if outcome == DEFERRED:
            record.waiting_for = intent_id[:255]
        record.save(update_fields=["outcome", "waiting_for"])
        if outcome != DEFERRED and intent_id:
            _deferred_events_apply(payment_intent_id=intent_id)
        return outcome


DEFERRED = "deferred"


def _payment_intent_id(payment_intent: Any) -> str:
    intent_id = payment_intent.get("id") if isinstance(payment_intent, dict) else payment_intent
    return str(intent_id or "")


def _event_payment_intent_id(*, event_type: str, obj: dict[str, Any]) -> str:
    """The PaymentIntent an event is about: the object itself, or the one its charge or dispute belongs to."""
    if event_type.startswith("payment_intent."):
        return _payment_intent_id(obj.get("id"))
    if event_type.startswith("charge."):
        return _payment_intent_id(obj.get("payment_intent"))
    return ""


def _deferred_events_apply(*, payment_intent_id: str) -> None:
    """Apply, oldest first, the events that waited for this payment and can now be applied.

    Repeats while one of them changes something, since one (a dispute opened) can make another (that
    dispute closed) applicable.
    """
    if not payment_intent_id:
        return
    progress = True
    while progress:
        progress = False
        waiting = WebhookEvent.objects.select_for_update().filter(waiting_for=payment_intent_id).order_by("pk")
        for record in waiting:
            try:
                with transaction.atomic():
                    outcome = _HANDLERS[record.type](record.payload["data"]["object"])
            except (KeyError, TypeError, ValueError, AttributeError, DataError):
                # Stored because it was signed, but it cannot be applied: it must not block the payment.
                logger.exception("deferred %s %s cannot be applied", record.type, record.stripe_event_id)
                outcome = "malformed"
            if outcome == DEFERRED:
                continue
            record.outcome = f"replayed:{outcome}"[:40]
            record.waiting_for = ""
            record.save(update_fields=["outcome", "waiting_for"])
            logger.info("applied deferred %s %s: %s", record.type, record.stripe_event_id, outcome)
            progress = True


def _charge_id(charge: Any) -> str:
    # Stripe sends the charge id; localstripe (and expanded API responses) send the charge object.
    if isinstance(charge, dict):
        return str(charge.get("id", ""))
    return str(charge or "")


def _card_of(charge: Any) -> tuple[str, str, str]:
    """The card brand, last four digits and issuing country, when the event carries the charge object (not just
    its id)."""
    details = charge.get("payment_method_details") if isinstance(charge, dict) else None
    card = details.get("card") if isinstance(details, dict) else None
    if not isinstance(card, dict):
        return "", "", ""
    last4 = str(card.get("last4") or "")
    country = str(card.get("country") or "").upper()
    return (
        str(card.get("brand") or "")[:20],
        last4 if len(last4) == 4 and last4.isdigit() else "",
        country if len(country) == 2 and country.isalpha() else "",
    )


def payment_card_record(*, payment_id: int) -> Payment | None:
    """Fill in, once, which card paid (brand and last four digits) for the receipt. Idempotent; best effort."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None or payment.card_last4:
            return payment
        brand, last4, country = stripe_gateway.payment_intent_card(payment_intent_id=payment.stripe_payment_intent_id)
        if not (len(last4) == 4 and last4.isdigit()):
            logger.info("payment %s: Stripe names no card", payment.pk)
            return payment
        payment.card_brand, payment.card_last4, payment.card_country = brand, last4, country
        payment.save(update_fields=["card_brand", "card_last4", "card_country"])
    return payment


def _order_for_payment_intent(payment_intent: Any) -> Order | None:
    """The order (locked) that a PaymentIntent, given as an id or an object, pays for."""
    intent_id = _payment_intent_id(payment_intent)
    if not intent_id:
        return None
    return Order.objects.select_for_update().filter(stripe_payment_intent_id=intent_id).first()


def _payment_intent_succeeded(intent: dict[str, Any]) -> str:
    """Fulfil the order a PaymentIntent paid for; every paid order ends paid, refunded or failed.

    Lines the buyer already owns by now (another order paid for the same pattern first) are not
    granted twice: they are refunded through Stripe and booked as refunded in the same transaction.
    A failed order (the amount did not match) is never fulfilled, whatever arrives later.
    """
    order = _order_for_payment_intent(intent)
    if order is None:
        logger.warning("payment_intent.succeeded for unknown intent %s", intent["id"])
        return "unknown-order"
    if order.paid_at is not None:
        return "already-paid"
    if order.status == Order.Status.FAILED:
        logger.error("payment_intent.succeeded for failed order %s is not fulfilled", order.pk)
        return "order-failed"
    if int(intent["amount"]) != order.amount or str(intent["currency"]).upper() != order.currency:
        return _mismatched_payment_refund(order=order, intent=intent)
    # Serialise a buyer's fulfilments: two orders sharing a pattern must not both grant it.
    User.objects.select_for_update().filter(pk=order.buyer_id).first()
    items = list(order.items.all())
    owned = patterns_held(buyer=order.buyer, pattern_ids=[i.pattern_id for i in items])
    for item in items:
        if item.pattern_id in owned:
            item.already_owned = True
            item.save(update_fields=["already_owned"])
    charge_id = _charge_id(intent.get("latest_charge"))
    brand, last4, country = _card_of(intent.get("latest_charge"))
    payment = Payment.objects.create(
        order=order,
        stripe_payment_intent_id=intent["id"],
        stripe_charge_id=charge_id,
        amount=int(intent["amount"]),
        currency=str(intent["currency"]).upper(),
        status="succeeded",
        card_brand=brand,
        card_last4=last4,
        card_country=country,
    )
    if not last4:
        # The event names the charge, not the card: the receipt's "Visa ending in 4242" is asked for after commit.
        from payments import tasks

        transaction.on_commit(partial(tasks.payment_card_record.delay, payment.pk), robust=True)
    _order_fulfil(order=order, stripe_object_id=charge_id)
    if owned:
        return _owned_lines_refund(order=order)
    return "fulfilled"


def _mismatched_payment_refund(*, order: Order, intent: dict[str, Any]) -> str:
    """A charge for another amount than the order's total: deliver nothing, give all of it back.

    Nothing was booked for this order, so nothing is reversed; the charge and its refund net to zero at
    Stripe and ``reconcile_ledger`` lists both, so a person sees the anomaly. If Stripe cannot be reached
    the error propagates, nothing is saved, and Stripe's redelivery retries with the same idempotency key.
    """
    amount, currency = int(intent["amount"]), str(intent["currency"]).upper()
    refund_id = stripe_gateway.refund_create(
        payment_intent_id=str(intent["id"]), amount=None, idempotency_key=f"tessera-mismatch-{order.pk}"
    )
    Refund.objects.get_or_create(
        stripe_refund_id=refund_id,
        defaults={"order": order, "amount": amount, "currency": currency, "reason": "Paid amount did not match."},
    )
    order.status = Order.Status.FAILED
    order.failure_reason = "The amount paid does not match the order total; the payment was refunded in full."
    order.save(update_fields=["status", "failure_reason"])
    _order_refunded_record(order=order, amount=amount, full=True, reason="Paid amount did not match.")
    logger.error("amount mismatch for order %s: %s %s, refunded as %s", order.pk, amount, currency, refund_id)
    return "amount-mismatch"


def _owned_lines_refund(*, order: Order) -> str:
    """Refund, through Stripe, the lines of a just-paid order the buyer already owned, and book it.

    The refund is booked here with ``amount_refunded``, so the ``charge.refunded`` Stripe sends for it
    finds its cumulative amount already booked and books nothing more. The idempotency key makes a
    retried webhook (after a failure before commit) ask Stripe for the same refund, not a second one.
    """
    amount = ledger.owned_lines_amount(order=order)
    refund_id = stripe_gateway.refund_create(
        payment_intent_id=str(order.stripe_payment_intent_id),
        amount=amount,
        idempotency_key=f"tessera-owned-lines-{order.pk}",
    )
    ledger.owned_lines_refund_record(order=order, stripe_object_id=refund_id)
    Refund.objects.get_or_create(
        stripe_refund_id=refund_id,
        defaults={
            "order": order,
            "amount": amount,
            "currency": order.currency,
            "reason": "Already owned when the order was paid.",
        },
    )
    order.amount_refunded = amount
    fully = amount >= order.amount
    order.status = Order.Status.REFUNDED if fully else Order.Status.PARTIALLY_REFUNDED
    order.save(update_fields=["amount_refunded", "status"])
    owned = list(order.items.filter(already_owned=True).order_by("pk").values_list("pattern_id", flat=True))
    _order_refunded_record(
        order=order, amount=amount, full=fully, reason="Already owned when the order was paid.", pattern_ids=owned
    )
    logger.info("order %s: refunded %s for lines the buyer already owned (%s)", order.pk, amount, refund_id)
    return "refunded-owned" if fully else "fulfilled-refunded-owned"


def _payment_intent_failed(intent: dict[str, Any]) -> str:
    order = _order_for_payment_intent(intent)
    if order is None or order.status != Order.Status.PENDING:
        return "ignored"
    error = intent.get("last_payment_error") or {}
    order.failure_reason = str(error.get("message") or "The card was declined.")
    order.save(update_fields=["failure_reason"])
    return "recorded-failure"


def _charge_refunded(charge: dict[str, Any]) -> str:
    """Book the refunded part not booked yet; a full refund revokes the order's entitlements.

    ``amount_refunded`` is cumulative on the charge, so each step is keyed by it: a redelivered or
    out-of-order event for an amount already booked changes nothing.
    """
    order = _order_for_payment_intent(charge.get("payment_intent"))
    if order is None or (order.paid_at is None and order.status != Order.Status.FAILED):
        return DEFERRED
    if order.paid_at is None:
        return "not-paid"
    refunded_total = min(int(charge.get("amount_refunded") or 0), order.amount)
    increment = refunded_total - order.amount_refunded
    if increment <= 0:
        return "already-refunded"
    listed = [str(r["id"]) for r in ((charge.get("refunds") or {}).get("data") or []) if r.get("id")]
    known = set(Refund.objects.filter(stripe_refund_id__in=listed).values_list("stripe_refund_id", flat=True))
    unbooked = [refund_id for refund_id in listed if refund_id not in known]
    refund_id = unbooked[0] if unbooked else f"{charge.get('id')}:{refunded_total}"
    ledger.reversal_record(
        order=order,
        already_reversed=order.amount_refunded,
        amount=increment,
        kind=LedgerTransaction.Kind.REFUND,
        reference=f"refund:{order.pk}:{refunded_total}",
        stripe_object_id=refund_id,
    )
    # The reason staff gave and who they are (order_refund puts both in the refund's metadata), when listed.
    metadata = {
        str(r["id"]): r.get("metadata") or {} for r in ((charge.get("refunds") or {}).get("data") or []) if r.get("id")
    }
    reason = str(metadata.get(refund_id, {}).get("reason") or "")
    requested_by = str(metadata.get(refund_id, {}).get("requested_by") or "")
    Refund.objects.get_or_create(
        stripe_refund_id=refund_id,
        defaults={"order": order, "amount": increment, "currency": order.currency, "reason": reason[:200]},
    )
    order.amount_refunded = refunded_total
    fully = refunded_total >= order.amount
    if order.status != Order.Status.DISPUTED:
        order.status = Order.Status.REFUNDED if fully else Order.Status.PARTIALLY_REFUNDED
    order.save(update_fields=["amount_refunded", "status"])
    # A full refund revokes the downloads: delivery's inline handler of order.refunded, in this transaction.
    _order_refunded_record(
        order=order,
        amount=increment,
        full=fully,
        reason=reason[:200],
        actor_id=int(requested_by) if requested_by.isdigit() else None,
    )
    return "refunded" if fully else "partially-refunded"


def _order_refunded_record(
    *,
    order: Order,
    amount: int,
    full: bool,
    reason: str,
    pattern_ids: list[int] | None = None,
    actor_id: int | None = None,
) -> None:
    if pattern_ids is None:
        pattern_ids = list(order.items.order_by("pk").values_list("pattern_id", flat=True))
    record_event(
        OrderRefunded(
            order_id=order.pk,
            buyer_id=order.buyer_id,
            amount=amount,
            currency=order.currency,
            full=full,
            reason=reason,
            pattern_ids=pattern_ids,
            actor_id=actor_id,
        )
    )


def _order_disputed_record(*, order: Order, dispute: Dispute, status: str) -> None:
    record_event(
        OrderDisputed(
            order_id=order.pk,
            buyer_id=order.buyer_id,
            amount=dispute.amount,
            currency=dispute.currency,
            status=status,
            reason=dispute.reason,
        )
    )


def _dispute_created(dispute: dict[str, Any]) -> str:
    """Stripe takes the disputed amount back at once: book it and suspend the entitlements."""
    order = _order_for_payment_intent(dispute.get("payment_intent"))
    if order is None or (order.paid_at is None and order.status != Order.Status.FAILED):
        return DEFERRED
    if order.paid_at is None:
        return "not-paid"
    record, created = Dispute.objects.get_or_create(
        stripe_dispute_id=str(dispute["id"]),
        defaults={
            "order": order,
            "amount": int(dispute["amount"]),
            "currency": str(dispute["currency"]).upper(),
            "status": str(dispute.get("status", "")),
            "reason": str(dispute.get("reason", "")),
        },
    )
    if not created:
        return "already-recorded"
    ledger.reversal_record(
        order=order,
        already_reversed=order.amount_refunded,
        amount=min(record.amount, order.amount - order.amount_refunded),
        kind=LedgerTransaction.Kind.DISPUTE,
        reference=f"dispute:{record.stripe_dispute_id}",
        stripe_object_id=record.stripe_dispute_id,
    )
    order.status = Order.Status.DISPUTED
    order.save(update_fields=["status"])
    # Suspends the downloads: delivery's inline handler of order.disputed.
    _order_disputed_record(order=order, dispute=record, status="opened")
    return "disputed"


def _dispute_closed(dispute: dict[str, Any]) -> str:
    """Won: the money comes back and so do the entitlements. Lost: they stay revoked."""
    record = Dispute.objects.select_for_update().filter(stripe_dispute_id=str(dispute["id"])).first()
    if record is None:
        return DEFERRED if dispute.get("payment_intent") else "unknown-dispute"
    if record.closed_at is not None:
        return "already-closed"
    order = Order.objects.select_for_update().get(pk=record.order_id)
    record.status = str(dispute.get("status", ""))
    record.closed_at = timezone.now()
    record.save(update_fields=["status", "closed_at"])
    if record.status != "won":
        _order_disputed_record(order=order, dispute=record, status="lost")
        return "dispute-lost"
    ledger.mirror_record(
        original_reference=f"dispute:{record.stripe_dispute_id}",
        kind=LedgerTransaction.Kind.DISPUTE_WON,
        reference=f"dispute-won:{record.stripe_dispute_id}",
        stripe_object_id=record.stripe_dispute_id,
    )
    logger.info("dispute %s won, the withdrawn amount is returned", record.stripe_dispute_id)
    order.status = Order.Status.PAID if order.amount_refunded == 0 else Order.Status.PARTIALLY_REFUNDED
    order.save(update_fields=["status"])
    # Gives the downloads back: delivery's inline handler of order.disputed.
    _order_disputed_record(order=order, dispute=record, status="won")
    return "dispute-won"


def _account_updated(account: dict[str, Any]) -> str:
    payouts_enabled = bool(account.get("payouts_enabled"))
    updated = PayoutAccount.objects.filter(stripe_account_id=str(account["id"])).update(
        details_submitted=bool(account.get("details_submitted")),
        payouts_enabled=payouts_enabled,
    )
    if not updated:
        return "unknown-account"
    # Catalog's payouts gate: an approved paid pattern waiting for payouts goes on sale now.
    creator_id = PayoutAccount.objects.filter(stripe_account_id=str(account["id"])).values_list("creator_id", flat=True)
    catalog_services.creator_payouts_ready_set(user_id=creator_id[0], ready=payouts_enabled)
    return "account-updated"


_HANDLERS = {
    "payment_intent.succeeded": _payment_intent_succeeded,
    "payment_intent.payment_failed": _payment_intent_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
    "account.updated": _account_updated,
}


def order_refundable(*, order: Order) -> int:
    """How much of an order can still be refunded, in minor units (0 for an order that was never paid)."""
    if order.paid_at is None or not order.stripe_payment_intent_id:
        return 0
    return max(0, order.amount - order.amount_refunded)


def order_refund(*, order: Order, amount: int | None = None, reason: str = "", requested_by: Any = None) -> str:
    """Ask Stripe to refund a paid order, all of what is left by default or ``amount`` minor units.

    Nothing changes here: the refund is booked, and entitlements revoked, when Stripe's
    ``charge.refunded`` webhook confirms it, whoever started the refund (this, or the Stripe dashboard).
    ``reason`` and who asked travel as the refund's metadata and end up on the booked ``Refund``.
    """
    if order.paid_at is None or not order.stripe_payment_intent_id:
        raise ValidationError("Only paid orders can be refunded.")
    remaining = order_refundable(order=order)
    amount = remaining if amount is None else amount
    if not 0 < amount <= remaining:
        raise ValidationError(f"Refund between 1 and {remaining} minor units.")
    metadata = {"order_id": str(order.pk)}
    if reason.strip():
        metadata["reason"] = reason.strip()[:200]
    if getattr(requested_by, "pk", None):
        metadata["requested_by"] = str(requested_by.pk)
    refund_id = stripe_gateway.refund_create(
        payment_intent_id=order.stripe_payment_intent_id,
        amount=amount,
        idempotency_key=f"tessera-refund-{order.pk}-{order.amount_refunded}-{amount}",
        metadata=metadata,
    )
    logger.info("order %s: refund %s of %s requested by %s", order.pk, refund_id, amount, metadata.get("requested_by"))
    return refund_id
