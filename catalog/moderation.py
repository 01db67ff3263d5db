"""The moderation console's queue: oldest first, one moderator per pattern at a time, one page per decision.

A moderator who opens a pattern holds a lease on it (``ReviewClaim``) for
``TESSERA_REVIEW_CLAIM_MINUTES``; the queue hands everyone else the next pattern instead, and a lease
nobody renews lapses. Leases are taken under the pattern's row lock, the same lock ``pattern_moderate``
takes, so claiming and deciding never interleave.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from catalog import services
from catalog.models import (
    CopyFlag,
    ModerationDecision,
    Pattern,
    PatternFile,
    Preview,
    RejectionReason,
    ReviewClaim,
    User,
)

logger = logging.getLogger(__name__)
# How many locked-by-someone-else candidates a claim steps over before it gives up for this request.
_CLAIM_ATTEMPTS = 5


def claim_lease() -> timedelta:
    return timedelta(minutes=settings.TESSERA_REVIEW_CLAIM_MINUTES)


def review_queue() -> QuerySet[Pattern]:
    """Patterns waiting for review, oldest first, with their current claim (if any)."""
    return (
        Pattern.objects.filter(status=Pattern.Status.NEEDS_REVIEW)
        .select_related("creator", "review_claim__moderator")
        .annotate(open_flags=Count("copy_flags", filter=Q(copy_flags__status=CopyFlag.Status.OPEN)))
        .defer("text_embedding", "search_vector", "description")
        .order_by("created_at", "pk")
    )


def _free_for(moderator: User, now: datetime) -> Q:
    return Q(review_claim__isnull=True) | Q(review_claim__expires_at__lte=now) | Q(review_claim__moderator=moderator)


def _lease(*, pattern: Pattern, moderator: User, now: datetime) -> ReviewClaim | None:
    """Take or renew the lease on ``pattern``; None when another moderator holds a live one.

    Call with the pattern's row locked: the claim is read again in this statement's snapshot, so a
    lease committed by someone else just before the lock was granted is seen.
    """
    claim = ReviewClaim.objects.select_related("moderator").filter(pattern=pattern).first()
    if claim is not None and claim.moderator_id != moderator.pk and claim.expires_at > now:
        return None
    claim, _created = ReviewClaim.objects.update_or_create(
        pattern=pattern, defaults={"moderator": moderator, "expires_at": now + claim_lease()}
    )
    return claim


def review_claim_next(*, moderator: User, after: Pattern | None = None) -> Pattern | None:
    """Claim the oldest waiting pattern nobody else holds, after ``after`` in queue order, wrapping round.

    ``after`` itself is never handed back (it was just decided or skipped). Two moderators asking at
    the same moment get different patterns: a candidate another transaction has locked is skipped.
    """
    now = timezone.now()
    free = Pattern.objects.filter(status=Pattern.Status.NEEDS_REVIEW).filter(_free_for(moderator, now))
    orders: list[QuerySet[Pattern]] = [free]
    if after is not None:
        free = free.exclude(pk=after.pk)
        later = Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, pk__gt=after.pk)
        orders = [free.filter(later), free]
    tried: list[int] = []
    with transaction.atomic():
        for candidates in orders:
            for _attempt in range(_CLAIM_ATTEMPTS):
                pattern = (
                    candidates.exclude(pk__in=tried)
                    .order_by("created_at", "pk")
                    .select_for_update(skip_locked=True, of=("self",))
                    .only("pk", "created_at", "status", "title")
                    .first()
                )
                if pattern is None:
                    break
                if _lease(pattern=pattern, moderator=moderator, now=now) is not None:
                    logger.info("moderator %s claimed pattern %s", moderator.pk, pattern.pk)
                    return pattern
                tried.append(pattern.pk)
    return None


@dataclass(frozen=True)
class Opened:
    """What opening a pattern in the console found: it is ours now, or why not."""

    pattern: Pattern | None
    claim: ReviewClaim | None = None
    decided: bool = False
    held_by: ReviewClaim | None = None


def review_claim_open(*, pattern_id: int, moderator: User) -> Opened:
    """Open a pattern for review: take (or renew) its lease unless it was decided or someone else holds it."""
    now = timezone.now()
    with transaction.atomic():
        pattern = Pattern.objects.select_for_update(of=("self",)).filter(pk=pattern_id).first()
        if pattern is None:
            return Opened(pattern=None)
        if pattern.status != Pattern.Status.NEEDS_REVIEW:
            return Opened(pattern=pattern, decided=True)
        claim = _lease(pattern=pattern, moderator=moderator, now=now)
        if claim is None:
            held = ReviewClaim.objects.select_related("moderator").get(pattern=pattern)
            return Opened(pattern=pattern, held_by=held)
        return Opened(pattern=pattern, claim=claim)


def review_claim_release(*, pattern: Pattern, moderator: User) -> None:
    """Give back one's own lease (the moderator skipped the pattern), so others get it at once."""
    ReviewClaim.objects.filter(pattern=pattern, moderator=moderator).delete()


def review_decide(
    *,
    pattern: Pattern,
    moderator: User,
    action: str,
    canned_reason: RejectionReason | None = None,
    note: str = "",
) -> Pattern:
    """Approve or reject from the console: the canned reason's text plus the moderator's note is the reason.

    Refused (``ValidationError``) when another moderator holds a live lease on the pattern, or when it
    was decided already; nothing changes then.
    """
    note = note.strip()
    reason = "\n\n".join(part for part in ((canned_reason.text if canned_reason else ""), note) if part)
    if action == "reject" and not reason:
        raise ValidationError({"reason": "Pick a reason or write one; the creator will read it."})
    with transaction.atomic():
        locked = Pattern.objects.select_for_update(of=("self",)).get(pk=pattern.pk)
        if locked.status != Pattern.Status.NEEDS_REVIEW:
            last = ModerationDecision.objects.select_related("moderator").filter(pattern=locked).first()
            by = f" by {last.moderator.username}" if last is not None and last.moderator is not None else ""
            status = locked.get_status_display().lower()
            raise ValidationError({"action": f"“{locked.title}” was {status}{by} already; nothing was changed."})
        claim = ReviewClaim.objects.select_related("moderator").filter(pattern=locked).first()
        if claim is not None and claim.moderator_id != moderator.pk and claim.expires_at > timezone.now():
            raise ValidationError(
                {"action": f"{claim.moderator.username} is reviewing “{locked.title}”; nothing was changed."}
            )
        return services.pattern_moderate(
            pattern=locked,
            moderator=moderator,
            action=action,
            reason=reason if action == "reject" else "",
            canned_reason=canned_reason,
        )


@dataclass
class CreatorHistory:
    """What a moderator weighs about the creator: how long they have been here and how it went."""

    joined: datetime
    published: int
    rejected: int
    waiting: int
    copy_flags: int
    copies_confirmed: int
    sales: int


@dataclass
class ReviewItem:
    """Everything the console shows about one pattern, loaded in a fixed number of queries."""

    pattern: Pattern
    files: list[PatternFile]
    previews: list[Preview]
    flags: list[CopyFlag]
    history: CreatorHistory
    reasons: list[RejectionReason]
    queue_size: int
    older: int
    findings: dict[str, int] = field(default_factory=dict)


def _previews() -> Prefetch[Any]:
    return Prefetch("previews", queryset=Preview.objects.defer("embedding").order_by("sort_order", "position"))


def creator_history(*, creator: User, exclude_pattern_id: int) -> CreatorHistory:
    counts = Pattern.objects.filter(creator=creator).aggregate(
        published=Count("pk", filter=Q(status=Pattern.Status.PUBLISHED)),
        rejected=Count("pk", filter=Q(status=Pattern.Status.REJECTED)),
        waiting=Count("pk", filter=Q(status=Pattern.Status.NEEDS_REVIEW) & ~Q(pk=exclude_pattern_id)),
    )
    flags = (
        CopyFlag.objects.filter(pattern__creator=creator)
        .exclude(pattern_id=exclude_pattern_id)
        .aggregate(total=Count("pk"), confirmed=Count("pk", filter=Q(status=CopyFlag.Status.CONFIRMED)))
    )
    # Lines of the creator's patterns in paid orders (payments' OrderItem, through its relation name).
    sales = Pattern.objects.filter(creator=creator, order_items__order__paid_at__isnull=False).count()
    return CreatorHistory(
        joined=creator.date_joined,
        published=counts["published"],
        rejected=counts["rejected"],
        waiting=counts["waiting"],
        copy_flags=flags["total"],
        copies_confirmed=flags["confirmed"],
        sales=sales,
    )


def review_item(*, pattern_id: int) -> ReviewItem | None:
    """The pattern with its files, findings, previews, copy flags side by side and the creator's history."""
    pattern = (
        Pattern.objects.select_related("creator", "category", "licence", "review_claim__moderator")
        .defer("text_embedding", "search_vector")
        .prefetch_related(
            Prefetch(
                "files",
                queryset=PatternFile.objects.defer("shape_descriptor", "image_hash")
                .select_related("viewer_model")
                .order_by("pk"),
            ),
            _previews(),
            Prefetch(
                "copy_flags",
                queryset=CopyFlag.objects.select_related("pattern_file", "matched_file__pattern__creator")
                .defer(
                    "pattern_file__shape_descriptor",
                    "pattern_file__image_hash",
                    "pattern_file__validation",
                    "matched_file__shape_descriptor",
                    "matched_file__image_hash",
                    "matched_file__validation",
                    "matched_file__pattern__text_embedding",
                    "matched_file__pattern__search_vector",
                    "matched_file__pattern__description",
                )
                .prefetch_related(
                    Prefetch("pattern_file__previews", queryset=Preview.objects.defer("embedding")),
                    Prefetch("matched_file__previews", queryset=Preview.objects.defer("embedding")),
                )
                .order_by("status", "distance", "pk"),
            ),
        )
        .filter(pk=pattern_id)
        .first()
    )
    if pattern is None:
        return None
    files = list(pattern.files.all())
    findings: dict[str, int] = {"error": 0, "warning": 0, "info": 0}
    for pattern_file in files:
        for finding in (pattern_file.validation or {}).get("findings", []):
            severity = finding.get("severity", "info")
            findings[severity] = findings.get(severity, 0) + 1
    queue = Pattern.objects.filter(status=Pattern.Status.NEEDS_REVIEW).aggregate(
        size=Count("pk"),
        older=Count(
            "pk",
            filter=Q(created_at__lt=pattern.created_at) | Q(created_at=pattern.created_at, pk__lt=pattern.pk),
        ),
    )
    return ReviewItem(
        pattern=pattern,
        files=files,
        previews=list(pattern.previews.all()),
        flags=list(pattern.copy_flags.all()),
        history=creator_history(creator=pattern.creator, exclude_pattern_id=pattern.pk),
        reasons=list(RejectionReason.objects.filter(active=True)),
        queue_size=queue["size"],
        older=queue["older"],
        findings=findings,
    )


def flag_similarity(flag: CopyFlag) -> float:
    """How alike the two files are, 0 to 1 (1 = identical), for a moderator to compare flags at a glance.

    Images: the share of the 64 dHash bits that agree. Shapes: 1 at distance 0, 0.5 at the copy
    threshold, falling to 0 at twice the threshold.
    """
    if flag.kind == CopyFlag.Kind.EXACT:
        return 1.0
    if flag.kind == CopyFlag.Kind.IMAGE:
        return max(0.0, 1.0 - flag.distance / 64.0)
    if flag.threshold <= 0:
        return 1.0 if flag.distance <= 0 else 0.0
    return max(0.0, 1.0 - flag.distance / (2.0 * flag.threshold))
