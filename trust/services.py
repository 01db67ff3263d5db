"""Notice and action (issue 14): receiving notices, deciding them, counter-notices, restorations, strikes and
complaints. Each step records its event (trust/events.py) with its actor, in the transaction of the change.

Trust sits above delivery in the layering: it takes listings down and brings them back through catalog's
services, holds earnings through payments and revokes access through delivery; notifications tell people from
the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import ModerationDecision, Pattern
from catalog.permissions import MODERATE_PATTERNS, staff_has_perm
from delivery import services as delivery_services
from marketplace.events import record
from payments import holds
from trust.events import (
    ComplaintFiled,
    ComplaintResolved,
    CreatorSuspended,
    StrikeIssued,
    StrikeLifted,
    TakedownActionFiled,
    TakedownCountered,
    TakedownReceived,
    TakedownRejected,
    TakedownRemoved,
    TakedownRestored,
)
from trust.models import Complaint, CounterNotice, Strike, TakedownItem, TakedownNotice

logger = logging.getLogger(__name__)


class Conflict(Exception):
    """The notice (or complaint) is not in a state that allows this step: decided already, not removed ... (409)."""


def business_days_after(start: datetime, days: int) -> datetime:
    """``days`` business days (Monday to Friday) after ``start``, at the same time of day. Public holidays are not
    known here: counting only weekdays errs on the side of waiting at least the statutory 10 business days when the
    setting is raised for them (it accepts up to 14)."""
    moment = start
    added = 0
    while added < days:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    return moment


def _require_moderator(user: Any) -> None:
    if not staff_has_perm(user, MODERATE_PATTERNS):
        raise PermissionDenied("Deciding notices needs the catalog.change_pattern permission.")


# --------------------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class NoticeInput:
    """A complete notice, checked by ``trust.api.serializers.TakedownNoticeInputSerializer``."""

    claimant_name: str
    claimant_email: str
    claimant_address: str
    work_description: str
    original_location: str
    patterns: list[Pattern]
    signature: str
    claimant_phone: str = ""
    explanation: str = ""
    original_pattern: Pattern | None = None


def notice_submit(*, notice: NoticeInput) -> TakedownNotice:
    """Store a complete notice with its listings and record ``takedown.received`` (no actor: the claimant has no
    account); the acknowledgement e-mail follows from the outbox."""
    with transaction.atomic():
        stored = TakedownNotice(
            claimant_name=notice.claimant_name,
            claimant_email=notice.claimant_email,
            claimant_address=notice.claimant_address,
            claimant_phone=notice.claimant_phone,
            work_description=notice.work_description,
            original_location=notice.original_location,
            original_pattern=notice.original_pattern,
            explanation=notice.explanation,
            good_faith=True,
            accurate_under_penalty=True,
            signature=notice.signature,
        )
        stored.full_clean()
        stored.save()
        TakedownItem.objects.bulk_create(
            [
                TakedownItem(notice=stored, pattern=pattern, uploader_id=pattern.creator_id)
                for pattern in notice.patterns
            ]
        )
        record(TakedownReceived(notice_id=stored.pk, pattern_ids=[p.pk for p in notice.patterns], actor_id=None))
    logger.info("takedown notice %s received for patterns %s", stored.pk, [p.pk for p in notice.patterns])
    return stored


def _locked(notice: TakedownNotice) -> TakedownNotice:
    return TakedownNotice.objects.select_for_update().get(pk=notice.pk)


def _active_strikes(creator_id: int) -> int:
    return Strike.objects.filter(creator_id=creator_id, lifted_at__isnull=True, expires_at__gt=timezone.now()).count()


def _strike(*, creator_id: int, notice: TakedownNotice, actor_id: int | None) -> None:
    """Count the removal against the uploader; suspend their selling at the policy's count."""
    expires_at = timezone.now() + timedelta(days=settings.TESSERA_TRUST_STRIKE_EXPIRY_DAYS)
    _, created = Strike.objects.get_or_create(creator_id=creator_id, notice=notice, defaults={"expires_at": expires_at})
    if not created:
        return
    active = _active_strikes(creator_id)
    record(
        StrikeIssued(
            creator_id=creator_id,
            notice_id=notice.pk,
            active=active,
            expires_at=expires_at.isoformat(),
            actor_id=actor_id,
        )
    )
    if active >= settings.TESSERA_TRUST_STRIKES_TO_SUSPEND and catalog_services.creator_selling_suspend_set(
        user_id=creator_id, suspended=True
    ):
        record(
            CreatorSuspended(
                creator_id=creator_id,
                suspended=True,
                active_strikes=active,
                reason=f"{active} active strikes (the policy suspends at {settings.TESSERA_TRUST_STRIKES_TO_SUSPEND})",
                actor_id=actor_id,
            )
        )


def _strikes_lift(*, notice: TakedownNotice, creator_ids: set[int], reason: str, actor_id: int | None) -> None:
    for strike in Strike.objects.filter(notice=notice, creator_id__in=creator_ids, lifted_at__isnull=True):
        strike.lifted_at = timezone.now()
        strike.save(update_fields=["lifted_at"])
        record(StrikeLifted(creator_id=strike.creator_id, notice_id=notice.pk, reason=reason, actor_id=actor_id))
        active = _active_strikes(strike.creator_id)
        # A suspension the strikes caused ends with them (one appealed separately is lifted by its complaint).
        if active < settings.TESSERA_TRUST_STRIKES_TO_SUSPEND and catalog_services.creator_selling_suspend_set(
            user_id=strike.creator_id, suspended=False
        ):
            record(
                CreatorSuspended(
                    creator_id=strike.creator_id,
                    suspended=False,
                    active_strikes=active,
                    reason=reason,
                    actor_id=actor_id,
                )
            )


def notice_decide(
    *, notice: TakedownNotice, moderator: Any, action: str, reason: str, revoke_access: bool = False
) -> TakedownNotice:
    """Staff decide a received notice. ``remove``: each listing answers 404 to the public at once (catalog), the
    uploader's unpaid earnings from it are held (payments), buyers keep access unless ``revoke_access`` (delivery),
    each uploader gets a strike; ``reject``: nothing changes but the notice. Raises ``Conflict`` on a notice
    decided already (nothing changes), ``ValidationError`` on a bad action or a missing reason."""
    _require_moderator(moderator)
    reason = reason.strip()
    errors: dict[str, str] = {}
    if action not in ("remove", "reject"):
        errors["action"] = "Use 'remove' or 'reject'."
    if not reason:
        errors["reason"] = "Say why: the uploader (removal) or the claimant (rejection) reads it."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _locked(notice)
        if locked.status != TakedownNotice.Status.RECEIVED:
            raise Conflict(f"Notice #{locked.pk} was decided already ({locked.get_status_display()}).")
        locked.decided_at = timezone.now()
        locked.decided_by = moderator
        locked.decision_reason = reason
        if action == "reject":
            locked.status = TakedownNotice.Status.REJECTED
            locked.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
            record(TakedownRejected(notice_id=locked.pk, reason=reason, actor_id=moderator.pk))
            return locked
        locked.status = TakedownNotice.Status.REMOVED
        locked.revoke_access = revoke_access
        locked.save(update_fields=["status", "decided_at", "decided_by", "decision_reason", "revoke_access"])
        removed: list[TakedownItem] = []
        held: dict[str, int] = {}
        revoked = 0
        for item in locked.items.select_for_update().order_by("pk"):
            previous = catalog_services.pattern_remove_for_notice(
                pattern_id=item.pattern_id, actor=moderator, notice_id=locked.pk, reason=reason
            )
            if previous is None:
                continue  # deleted by its creator meanwhile, or down under another notice: nothing to take down
            item.previous_status = previous
            item.removed_at = locked.decided_at
            item.save(update_fields=["previous_status", "removed_at"])
            removed.append(item)
            for hold in holds.earnings_hold(
                creator_id=item.uploader_id,
                pattern_id=item.pattern_id,
                reference=_hold_reference(item),
                reason=f"Takedown notice #{locked.pk}",
            ):
                held[hold.currency] = held.get(hold.currency, 0) + hold.amount
            if revoke_access:
                revoked += delivery_services.entitlements_revoke_for_pattern(
                    pattern_id=item.pattern_id, reason=f"Removed on takedown notice #{locked.pk}", actor_id=moderator.pk
                )
        uploader_ids = sorted({item.uploader_id for item in removed})
        record(
            TakedownRemoved(
                notice_id=locked.pk,
                pattern_ids=[item.pattern_id for item in removed],
                uploader_ids=uploader_ids,
                reason=reason,
                revoke_access=revoke_access,
                held=held,
                revoked=revoked,
                actor_id=moderator.pk,
            )
        )
        for uploader_id in uploader_ids:
            _strike(creator_id=uploader_id, notice=locked, actor_id=moderator.pk)
    logger.info("takedown notice %s: removed %s listings", locked.pk, len(removed))
    return locked


def _hold_reference(item: TakedownItem) -> str:
    return f"takedown:{item.notice_id}:pattern:{item.pattern_id}"


# --------------------------------------------------------------------------------------- counter-notices


@dataclass(frozen=True)
class CounterNoticeInput:
    name: str
    address: str
    signature: str
    phone: str = ""


def counter_notice_file(*, notice: TakedownNotice, uploader: Any, counter: CounterNoticeInput) -> CounterNotice:
    """The uploader objects (§512(g)(3)): the notice becomes ``countered`` and the listings come back at
    ``restore_after`` (``TESSERA_TRUST_RESTORE_BUSINESS_DAYS`` business days later) unless the claimant files an
    action. Raises ``PermissionDenied`` when ``uploader`` has no removed listing on it, ``Conflict`` when the notice
    is not standing removed or they countered already."""
    with transaction.atomic():
        locked = _locked(notice)
        mine = locked.items.filter(uploader=uploader, removed_at__isnull=False, restored_at__isnull=True)
        if not mine.exists():
            if locked.items.filter(uploader=uploader).exists():
                raise Conflict(
                    f"Notice #{locked.pk} has no listing of yours taken down ({locked.get_status_display()})."
                )
            raise PermissionDenied("Only the uploader of a listing taken down on this notice can counter it.")
        if locked.status not in (TakedownNotice.Status.REMOVED, TakedownNotice.Status.COUNTERED):
            raise Conflict(f"Notice #{locked.pk} cannot be countered now ({locked.get_status_display()}).")
        if CounterNotice.objects.filter(notice=locked, uploader=uploader).exists():
            raise Conflict("You filed a counter-notice to this notice already.")
        now = timezone.now()
        stored = CounterNotice.objects.create(
            notice=locked,
            uploader=uploader,
            name=counter.name,
            address=counter.address,
            phone=counter.phone,
            statement_good_faith=True,
            consent_to_jurisdiction=True,
            signature=counter.signature,
            created_at=now,
        )
        locked.status = TakedownNotice.Status.COUNTERED
        locked.countered_at = now
        locked.restore_after = business_days_after(now, settings.TESSERA_TRUST_RESTORE_BUSINESS_DAYS)
        locked.save(update_fields=["status", "countered_at", "restore_after"])
        record(
            TakedownCountered(
                notice_id=locked.pk,
                uploader_id=uploader.pk,
                restore_after=locked.restore_after.isoformat(),
                actor_id=uploader.pk,
            )
        )
    return stored


def action_filed_record(*, notice: TakedownNotice, moderator: Any) -> TakedownNotice:
    """Staff record that the claimant filed an action against the uploader: the listings stay down (no automatic
    restoration). ``Conflict`` unless the notice is countered and not restored."""
    _require_moderator(moderator)
    with transaction.atomic():
        locked = _locked(notice)
        if locked.status != TakedownNotice.Status.COUNTERED:
            raise Conflict(
                f"Only a countered notice waits for an action; #{locked.pk} is {locked.get_status_display()}."
            )
        locked.status = TakedownNotice.Status.ACTION_FILED
        locked.action_filed_at = timezone.now()
        locked.action_filed_by = moderator
        locked.save(update_fields=["status", "action_filed_at", "action_filed_by"])
        record(TakedownActionFiled(notice_id=locked.pk, actor_id=moderator.pk))
    return locked


def notice_restore(
    *, notice: TakedownNotice, reason: str, actor: Any = None, uploader_ids: set[int] | None = None
) -> int:
    """Bring back the notice's removed listings (of ``uploader_ids`` only, when given): catalog restores each to
    where it was, payments releases the earnings held, the uploaders' strikes for it are lifted. Records
    ``takedown.restored``. Call under the notice's row lock. Returns how many listings came back."""
    actor_id = getattr(actor, "pk", None)
    items = notice.items.select_for_update().filter(removed_at__isnull=False, restored_at__isnull=True)
    if uploader_ids is not None:
        items = items.filter(uploader_id__in=uploader_ids)
    restored: list[TakedownItem] = []
    released = 0
    now = timezone.now()
    for item in items.order_by("pk"):
        catalog_services.pattern_restore_after_notice(
            pattern_id=item.pattern_id,
            notice_id=notice.pk,
            status=item.previous_status,
            reason=reason,
            actor_id=actor_id,
        )
        released += holds.earnings_release(reference=_hold_reference(item))
        item.restored_at = now
        item.save(update_fields=["restored_at"])
        restored.append(item)
    uploaders = {item.uploader_id for item in restored}
    _strikes_lift(notice=notice, creator_ids=uploaders, reason=reason, actor_id=actor_id)
    if not notice.items.filter(removed_at__isnull=False, restored_at__isnull=True).exists():
        notice.status = TakedownNotice.Status.RESTORED
        notice.restored_at = now
        notice.save(update_fields=["status", "restored_at"])
    record(
        TakedownRestored(
            notice_id=notice.pk,
            pattern_ids=[item.pattern_id for item in restored],
            uploader_ids=sorted(uploaders),
            reason=reason,
            released=released,
            actor_id=actor_id,
        )
    )
    return len(restored)


def takedowns_restore_due(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """The periodic task: restore the listings of every countered notice whose ``restore_after`` has passed and for
    which no action was recorded. Idempotent (a restored notice is no longer ``countered``); several workers share
    the work (``SKIP LOCKED``). Returns the notices restored."""
    now = now or timezone.now()
    done: list[int] = []
    due = TakedownNotice.objects.filter(
        status=TakedownNotice.Status.COUNTERED, restore_after__lte=now, action_filed_at__isnull=True
    ).order_by("restore_after", "pk")
    for notice_id in list(due.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            notice = (
                TakedownNotice.objects.select_for_update(skip_locked=True)
                .filter(pk=notice_id, status=TakedownNotice.Status.COUNTERED, restore_after__lte=now)
                .first()
            )
            if notice is None:
                continue
            uploaders = set(CounterNotice.objects.filter(notice=notice).values_list("uploader_id", flat=True))
            notice_restore(
                notice=notice,
                reason="Restored: the counter-notice period ended and the claimant filed no action.",
                uploader_ids=uploaders,
            )
            done.append(notice.pk)
    if done:
        logger.info("takedowns restored after counter-notice: %s", done)
    return done


# --------------------------------------------------------------------------------------- complaints (DSA Art. 20)


def _decided_at(*, subject: str, notice: TakedownNotice | None, pattern: Pattern | None, user: Any) -> datetime | None:
    if subject == Complaint.Subject.TAKEDOWN and notice is not None:
        return notice.decided_at
    if subject == Complaint.Subject.PATTERN and pattern is not None:
        decision = (
            ModerationDecision.objects.filter(pattern=pattern).order_by("-pk").values_list("created_at", flat=True)
        )
        return decision.first() or (pattern.updated_at if pattern.status == Pattern.Status.REMOVED else None)
    if subject == Complaint.Subject.SUSPENSION:
        profile = getattr(user, "creator_profile", None)
        return getattr(profile, "selling_suspended_at", None)
    return None


def complaint_file(
    *,
    subject: str,
    text: str,
    complainant: Any = None,
    complainant_email: str = "",
    notice: TakedownNotice | None = None,
    pattern: Pattern | None = None,
) -> Complaint:
    """File an internal complaint against a moderation decision, within ``TESSERA_TRUST_COMPLAINT_WINDOW_DAYS`` of
    it. The caller checked that the complainant is a party (the uploader or the claimant of the notice, the
    pattern's creator, the suspended creator). ``Conflict`` when there is no decision, the window closed, or one
    complaint on it is open already."""
    decided_at = _decided_at(subject=subject, notice=notice, pattern=pattern, user=complainant)
    if decided_at is None:
        raise Conflict("There is no decision to complain about yet.")
    if timezone.now() - decided_at > timedelta(days=settings.TESSERA_TRUST_COMPLAINT_WINDOW_DAYS):
        raise Conflict(
            f"Complaints are open for {settings.TESSERA_TRUST_COMPLAINT_WINDOW_DAYS} days after the decision; "
            "this one is older."
        )
    with transaction.atomic():
        open_ones = Complaint.objects.select_for_update().filter(
            subject=subject, notice=notice, pattern=pattern, status=Complaint.Status.OPEN
        )
        if complainant is not None:
            open_ones = open_ones.filter(complainant=complainant)
        else:
            open_ones = open_ones.filter(complainant_email=complainant_email)
        if open_ones.exists():
            raise Conflict("Your complaint about this decision is open already; we answer it before another.")
        complaint = Complaint.objects.create(
            subject=subject,
            notice=notice,
            pattern=pattern,
            complainant=complainant,
            complainant_email=complainant_email,
            text=text.strip(),
        )
        record(
            ComplaintFiled(
                complaint_id=complaint.pk,
                about=subject,
                notice_id=getattr(notice, "pk", None),
                pattern_id=getattr(pattern, "pk", None),
                actor_id=getattr(complainant, "pk", None),
            )
        )
    return complaint


def complaint_resolve(*, complaint: Complaint, moderator: Any, outcome: str, reason: str) -> Complaint:
    """Staff answer a complaint (not the person who made the decision, where another moderator exists: Art. 20(6)
    asks for review under qualified staff; we do not enforce who). ``upheld`` reverses what can be reversed here: a
    removal is restored (strikes lifted, earnings released), a rejected notice goes back to be decided again, a
    suspension ends; a pattern decision is reviewed again in the console. ``Conflict`` when resolved already."""
    _require_moderator(moderator)
    reason = reason.strip()
    if outcome not in (Complaint.Status.UPHELD, Complaint.Status.DISMISSED):
        raise ValidationError({"outcome": "Use 'upheld' or 'dismissed'."})
    if not reason:
        raise ValidationError({"reason": "Say why: the complainant reads it."})
    with transaction.atomic():
        locked = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if locked.status != Complaint.Status.OPEN:
            raise Conflict(f"Complaint #{locked.pk} was answered already ({locked.get_status_display()}).")
        if outcome == Complaint.Status.UPHELD:
            _reverse(complaint=locked, moderator=moderator, reason=reason)
        locked.status = outcome
        locked.resolved_at = timezone.now()
        locked.resolved_by = moderator
        locked.resolution = reason
        locked.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
        record(
            ComplaintResolved(
                complaint_id=locked.pk,
                about=locked.subject,
                outcome=outcome,
                reason=reason,
                notice_id=locked.notice_id,
                pattern_id=locked.pattern_id,
                actor_id=moderator.pk,
            )
        )
    return locked


def _reverse(*, complaint: Complaint, moderator: Any, reason: str) -> None:
    if complaint.subject == Complaint.Subject.TAKEDOWN and complaint.notice_id is not None:
        notice = TakedownNotice.objects.select_for_update().get(pk=complaint.notice_id)
        if notice.status == TakedownNotice.Status.REJECTED:
            # The claimant was right to complain: the notice is decided again (by staff, in the console).
            notice.status = TakedownNotice.Status.RECEIVED
            notice.decided_at = None
            notice.decided_by = None
            notice.save(update_fields=["status", "decided_at", "decided_by"])
        elif notice.status in (
            TakedownNotice.Status.REMOVED,
            TakedownNotice.Status.COUNTERED,
            TakedownNotice.Status.ACTION_FILED,
        ):
            uploaders = {complaint.complainant_id} if complaint.complainant_id else None
            notice_restore(notice=notice, reason=f"Complaint upheld: {reason}", actor=moderator, uploader_ids=uploaders)
    elif complaint.subject == Complaint.Subject.SUSPENSION and complaint.complainant_id is not None:
        if catalog_services.creator_selling_suspend_set(user_id=complaint.complainant_id, suspended=False):
            record(
                CreatorSuspended(
                    creator_id=complaint.complainant_id,
                    suspended=False,
                    active_strikes=_active_strikes(complaint.complainant_id),
                    reason=f"Appeal upheld: {reason}",
                    actor_id=moderator.pk,
                )
            )


def creator_is_suspended(*, user_id: int) -> bool:
    return catalog_selectors.creator_selling_suspended(user_id=user_id)
