"""Outbox handlers that turn domain events into notifications (listed in marketplace/handlers.py).

Each runs after commit in the outbox's transaction: the rows it writes commit with its receipt, and the unique
(event, recipient, type) constraint keeps a re-drain from adding any.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from analytics.events import DemandDigestReady
from catalog.events import (
    CopyFlagged,
    PatternFailed,
    PatternPublished,
    PatternRejected,
    PatternUpdated,
    PatternVersionPublished,
    PatternVersionRejected,
)
from catalog.models import Pattern
from catalog.templatetags.tessera import amount_of
from community import selectors as community_selectors
from community.events import ReviewCreated
from delivery import selectors as delivery_selectors
from notifications.services import notify
from payments.events import OrderPaid, OrderRefunded, PayoutFailed, PayoutPaid


def _pattern(pattern_id: int) -> Pattern | None:
    return Pattern.objects.filter(pk=pattern_id).only("pk", "title", "slug", "creator_id").first()


def _status_url(pattern_id: int) -> str:
    return reverse("catalog:pattern-status", kwargs={"pk": pattern_id})


def pattern_approved(event: PatternPublished) -> None:
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="pattern.approved",
        message=f"“{pattern.title}” was approved and is on sale.",
        url=pattern.get_absolute_url(),
    )


def pattern_rejected(event: PatternRejected) -> None:
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="pattern.rejected",
        message=f"“{pattern.title}” was rejected: {event.reason}",
        url=_status_url(pattern.pk),
    )


def pattern_failed(event: PatternFailed) -> None:
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=[pattern.creator_id],
        type="pattern.failed",
        message=f"“{pattern.title}” could not be processed: {event.reason}",
        url=_status_url(pattern.pk),
    )


def copy_flagged(event: CopyFlagged) -> None:
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True)
    notify(
        event_id=event.event_id,
        recipient_ids=list(staff),
        type="copy.flagged",
        message=f"“{pattern.title}” may copy pattern #{event.matched_pattern_id} ({event.kind}).",
        url=_status_url(pattern.pk),
    )


def order_paid(event: OrderPaid) -> None:
    """A ``sale`` to each creator (their lines of this order only) and the ``order.receipt`` to the buyer."""
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in event.items:
        lines[int(item["creator_id"])].append(item)  # type: ignore[call-overload]
    titles = dict(
        Pattern.objects.filter(pk__in=[item["pattern_id"] for item in event.items]).values_list("pk", "title")
    )
    for creator_id, items in lines.items():
        names = ", ".join(f"“{titles.get(item['pattern_id'], 'a pattern')}”" for item in items)
        earned = sum(int(item["price"]) for item in items)
        notify(
            event_id=event.event_id,
            recipient_ids=[creator_id],
            type="sale",
            message=f"You sold {names} ({amount_of(earned, event.currency.upper())}).",
            url=reverse("payments:earnings"),
        )
    notify(
        event_id=event.event_id,
        recipient_ids=[event.buyer_id],
        type="order.receipt",
        message=(
            f"Thank you: order #{event.order_id} ({amount_of(event.total, event.currency.upper())}) is paid. "
            "Your files are in your library."
        ),
        url=reverse("delivery:library"),
    )


def order_refunded(event: OrderRefunded) -> None:
    notify(
        event_id=event.event_id,
        recipient_ids=[event.buyer_id],
        type="order.refunded",
        message=f"Order #{event.order_id}: {amount_of(event.amount, event.currency.upper())} was refunded.",
        url=reverse("payments:order-list"),
    )


def payout_paid(event: PayoutPaid) -> None:
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="payout.paid",
        message=f"A payout of {amount_of(event.amount, event.currency.upper())} is on its way.",
        url=reverse("payments:earnings"),
    )


def payout_failed(event: PayoutFailed) -> None:
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="payout.failed",
        message=f"A payout of {amount_of(event.amount, event.currency.upper())} failed: {event.reason}",
        url=reverse("payments:earnings"),
    )


def version_published(event: PatternVersionPublished) -> None:
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=delivery_selectors.buyer_ids_for_pattern(pattern_id=event.pattern_id),
        type="pattern.version_published",
        message=f"Version {event.version} of “{pattern.title}” is in your library: {event.changelog}".strip(),
        url=reverse("delivery:library"),
    )


def pattern_approved_awaiting_payouts(event: PatternUpdated) -> None:
    """A paid pattern approved while its creator's payouts are not set up waits as a draft: the creator hears of
    the approval and of what is missing (``pattern.approved`` again when it goes on sale)."""
    if event.changes.get("awaiting_payouts", {}).get("to") is not True:
        return
    pattern = Pattern.objects.filter(pk=event.pattern_id).only("pk", "title", "creator_id").first()
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=[pattern.creator_id],
        type="pattern.approved",
        message=f"“{pattern.title}” was approved: it goes on sale once your payouts are set up.",
        url=reverse("payments:earnings"),
    )


def version_approved(event: PatternVersionPublished) -> None:
    """The creator hears that their new version was approved (the same type, and e-mail choice, as a pattern's)."""
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="pattern.approved",
        message=f"Version {event.version} of “{pattern.title}” was approved: earlier buyers get it in their library.",
        url=pattern.get_absolute_url(),
    )


def version_rejected(event: PatternVersionRejected) -> None:
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="pattern.rejected",
        message=f"Version {event.version} of “{pattern.title}” was rejected: {event.reason}",
        url=_status_url(pattern.pk),
    )


def review_created(event: ReviewCreated) -> None:
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="review.created",
        message=f"“{pattern.title}” has a new {event.rating}-star review.",
        url=pattern.get_absolute_url(),
    )


def new_pattern(event: PatternPublished) -> None:
    """``new_pattern`` to the creator's followers when a pattern goes on sale."""
    pattern = _pattern(event.pattern_id)
    if pattern is None:
        return
    followers = [i for i in community_selectors.follower_ids(creator_id=event.creator_id) if i != event.creator_id]
    creator = get_user_model().objects.filter(pk=event.creator_id).values_list("username", flat=True).first() or ""
    notify(
        event_id=event.event_id,
        recipient_ids=followers,
        type="new_pattern",
        message=f"{creator} published “{pattern.title}”.",
        url=pattern.get_absolute_url(),
    )


def demand_digest(event: DemandDigestReady) -> None:
    """The weekly demand digest, to a creator who opted in (``demand.digest`` is an opt-in type: ``notify`` skips
    everyone else). Once per week: one event per (creator, week), one notification per event."""
    listed = "; ".join(
        f"“{gap['query']}” ({gap['searchers']} people, {gap['results']} result{'s' if gap['results'] != 1 else ''})"
        for gap in event.gaps
    )
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="demand.digest",
        message=(
            f"In the last {event.period_days} days buyers searched your categories for what nobody sells: {listed}."
        ),
        url=reverse("demand:report"),
    )
