"""Outbox handlers that turn domain events into notifications (listed in marketplace/handlers.py).

Each runs after commit in the outbox's transaction: the rows it writes commit with its receipt, and the unique
(event, recipient, type) constraint keeps a re-drain from adding any.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings
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
from notifications.services import email_to_address, notify
from payments.events import OrderPaid, OrderRefunded, PayoutFailed, PayoutPaid
from trust import selectors as trust_selectors
from trust.events import (
    ComplaintResolved,
    CreatorSuspended,
    TakedownCountered,
    TakedownReceived,
    TakedownRejected,
    TakedownRemoved,
    TakedownRestored,
)
from trust.models import Complaint, CounterNotice, TakedownNotice


def _pattern(pattern_id: int) -> Pattern | None:
    return Pattern.objects.filter(pk=pattern_id).only("pk", "title", "slug", "creator_id").first()


def _status_url(pattern_id: int) -> str:
    return reverse("catalog:pattern-status", kwargs={"pk": pattern_id})


def pattern_approved(event: PatternPublished) -> None:
    if event.republished:  # put back on sale by its creator or staff: not an approval, nothing to tell
        return
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
    pattern = _pattern(event.pattern_id)
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
    """``new_pattern`` to the creator's followers when a pattern goes on sale (the first time only: followers
    heard of a republished pattern when it first went on sale)."""
    if event.republished:
        return
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


# --- Takedowns (issue 14, h/trust): the parties of a notice are told each step; the claimant, who has no account,
# by e-mail to the address on the notice (notifications.services.email_to_address). ---


def _notice(notice_id: int) -> TakedownNotice | None:
    return TakedownNotice.objects.filter(pk=notice_id).first()


def _to_claimant(event: Any, notice: TakedownNotice, message: str, type: str = "takedown.decision") -> None:
    email_to_address(
        event_id=event.event_id,
        to=notice.claimant_email,
        type=type,
        message=message,
        url=trust_selectors.claimant_link(notice),
    )


def takedown_received(event: TakedownReceived) -> None:
    """The acknowledgement, with the claimant's private link to follow the notice."""
    notice = _notice(event.notice_id)
    if notice is None:
        return
    titles = trust_selectors.pattern_titles(notice)
    listed = ", ".join(f"“{titles.get(pid, pid)}” (#{pid})" for pid in event.pattern_ids)
    _to_claimant(
        event,
        notice,
        f"We received your notice #{notice.pk} about {listed}. A person at Tessera will review it and e-mail you the "
        "decision. Keep this e-mail: its link is the only way to follow your notice.",
        type="takedown.received",
    )


def takedown_removed(event: TakedownRemoved) -> None:
    """The uploader's statement of reasons (DSA Art. 17), and the claimant's news that we acted."""
    notice = _notice(event.notice_id)
    if notice is None:
        return
    for uploader_id in event.uploader_ids:
        notify(
            event_id=event.event_id,
            recipient_ids=[uploader_id],
            type="takedown.removed",
            message=trust_selectors.statement_of_reasons(notice=notice, uploader_id=uploader_id),
            url=reverse("trust:notice-status", kwargs={"pk": notice.pk}),
        )
    _to_claimant(
        event,
        notice,
        f"We acted on your notice #{notice.pk}: the listings are no longer available on Tessera. The uploader may "
        "file a counter-notice; if so, we send you a copy.",
    )


def takedown_rejected(event: TakedownRejected) -> None:
    notice = _notice(event.notice_id)
    if notice is None:
        return
    days = settings.TESSERA_TRUST_COMPLAINT_WINDOW_DAYS
    _to_claimant(
        event,
        notice,
        f"We did not act on your notice #{notice.pk}. Why: {event.reason}\n"
        f"You can complain about this decision within {days} days from your notice's page, or send a new notice "
        "with more information.",
    )


def takedown_countered(event: TakedownCountered) -> None:
    """§512(g)(2)(B): the claimant gets a copy of the counter-notice and the date the listing comes back."""
    notice = _notice(event.notice_id)
    counter = CounterNotice.objects.filter(notice_id=event.notice_id, uploader_id=event.uploader_id).first()
    if notice is None or counter is None:
        return
    restore_after = datetime.fromisoformat(event.restore_after)
    _to_claimant(
        event,
        notice,
        f"The uploader filed a counter-notice to your notice #{notice.pk}: "
        f"{trust_selectors.counter_notice_text(counter)}\n"
        f"We will restore the listings after {restore_after:%d %B %Y, %H:%M} UTC unless you tell us before then that "
        "you have filed an action seeking a court order against the uploader.",
        type="takedown.countered",
    )


def takedown_restored(event: TakedownRestored) -> None:
    notice = _notice(event.notice_id)
    if notice is None or not event.pattern_ids:
        return
    titles = trust_selectors.pattern_titles(notice)
    listed = ", ".join(f"“{titles.get(pid, pid)}”" for pid in event.pattern_ids)
    notify(
        event_id=event.event_id,
        recipient_ids=event.uploader_ids,
        type="takedown.restored",
        message=f"{listed} is back, as it was before notice #{notice.pk}. {event.reason}",
        url=reverse("trust:notice-status", kwargs={"pk": notice.pk}),
    )
    _to_claimant(event, notice, f"The listings of your notice #{notice.pk} were restored. {event.reason}")


def creator_suspended(event: CreatorSuspended) -> None:
    notify(
        event_id=event.event_id,
        recipient_ids=[event.creator_id],
        type="takedown.strike",
        message=(
            f"Your selling is suspended under the repeat-infringer policy ({event.reason}): you cannot publish, "
            "submit or sell patterns. You can appeal with an internal complaint."
            if event.suspended
            else f"Your selling is no longer suspended: {event.reason}"
        ),
        url=reverse("trust:transparency"),
    )


def complaint_resolved(event: ComplaintResolved) -> None:
    complaint = Complaint.objects.filter(pk=event.complaint_id).select_related("notice").first()
    if complaint is None:
        return
    outcome = "upheld: the decision was reversed" if event.outcome == "upheld" else "dismissed: the decision stands"
    message = f"Your complaint #{complaint.pk} was {outcome}. {event.reason}"
    if complaint.complainant_id is not None:
        notify(
            event_id=event.event_id,
            recipient_ids=[complaint.complainant_id],
            type="takedown.complaint",
            message=message,
        )
    elif complaint.complainant_email and complaint.notice is not None:
        _to_claimant(event, complaint.notice, message, type="takedown.complaint")
