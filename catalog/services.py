"""Writes to the catalog: moderating, tagging and indexing patterns (submitting one is ingestion.submit)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.text import slugify

from catalog.events import (
    CopyDecided,
    CopyFlagged,
    PatternDeleted,
    PatternFailed,
    PatternProcessed,
    PatternPublished,
    PatternRejected,
    PatternRemoved,
    PatternRestored,
    PatternUnpublished,
    PatternUpdated,
    PatternVersionPublished,
    PatternVersionRejected,
    TagDecided,
)
from catalog.models import (
    PUBLISHED_MEDIA_PREFIX,
    CopyFlag,
    CreatorProfile,
    ModerationDecision,
    Pattern,
    PatternFile,
    PatternVersion,
    Preview,
    PreviewRendition,
    RejectionReason,
    ReviewClaim,
    Tag,
    TagSuggestion,
    User,
    ViewerModel,
    is_published_media,
    tag_kind_for,
)
from catalog.permissions import DECIDE_TAG_SUGGESTIONS, MODERATE_PATTERNS, staff_has_perm
from catalog.selectors import sales_band
from marketplace.events import record
from marketplace.page_cache import catalogue_changed

logger = logging.getLogger(__name__)


def creator_profile_ensure(*, user: User) -> CreatorProfile:
    profile, _ = CreatorProfile.objects.get_or_create(
        user=user, defaults={"display_name": user.get_full_name() or user.username}
    )
    return profile


def pattern_refresh_search_vector(*, pattern: Pattern) -> None:
    """Rebuild the full-text document: title (A), tags and category (B), description (C)."""
    tag_text = " ".join(pattern.tags.values_list("name", flat=True)) if pattern.pk else ""
    category_text = pattern.category.name if pattern.category else ""
    vector = (
        SearchVector(Value(pattern.title), weight="A", config="english")
        + SearchVector(Value(f"{tag_text} {category_text}"), weight="B", config="english")
        + SearchVector(Value(pattern.description), weight="C", config="english")
    )
    Pattern.objects.filter(pk=pattern.pk).update(search_vector=vector)


def _tag_for(name: str) -> Tag | None:
    """The tag for ``name``: the one with its slug, else the one with its (truncated) name, else a new one.

    Names and slugs are both unique and both truncated to fit, so two different names can meet on either;
    they are the same tag then, never an ``IntegrityError``. Safe against a concurrent creation of the same tag.
    """
    name = name.strip()[: Tag._meta.get_field("name").max_length]
    slug = slugify(name)[: Tag._meta.get_field("slug").max_length].strip("-")
    if not slug:
        return None
    for _attempt in range(2):
        tag = Tag.objects.filter(Q(slug=slug) | Q(name=name)).order_by(Case(When(slug=slug, then=0), default=1)).first()
        if tag is not None:
            return tag
        try:
            with transaction.atomic():
                return Tag.objects.create(slug=slug, name=name, kind=tag_kind_for(slug))
        except IntegrityError:
            continue  # created meanwhile by another request: read it back
    raise ValidationError({"tags": [f"The tag “{name}” could not be saved; try again."]})


def pattern_tags_add(*, pattern: Pattern, names: Sequence[str], source: str = "system") -> list[Tag]:
    """Add tags that need no review (file formats, the creator's own), recording where they came from."""
    tags = [tag for tag in (_tag_for(name) for name in names) if tag is not None]
    for tag in tags:
        TagSuggestion.objects.update_or_create(
            pattern=pattern, tag=tag, defaults={"source": source, "confidence": 1.0, "state": "accepted"}
        )
    pattern.tags.add(*tags)
    pattern_refresh_search_vector(pattern=pattern)
    if pattern.status == Pattern.Status.PUBLISHED:
        catalogue_changed()  # cached pages and pattern data show the new tags at once
    return tags


def pattern_suggestions_record(
    *, pattern: Pattern, suggestions: Sequence[tuple[str, str, float, str]], auto_accept: float
) -> list[TagSuggestion]:
    """Record (name, kind, confidence, source) suggestions; confident ones are applied at once.

    An existing suggestion keeps its state, so a creator's or moderator's decision is never overturned.
    Must be called with the pattern row locked.
    """
    recorded = []
    for name, kind, confidence, source in suggestions:
        tag = _tag_for(name)
        if tag is None:
            continue
        suggestion, created = TagSuggestion.objects.get_or_create(
            pattern=pattern,
            tag=tag,
            defaults={
                "kind": kind,
                "source": source,
                "confidence": confidence,
                # Colour, rendering and format attributes describe the preview and are applied (never offered
                # for discovery); a subject tag is applied without asking only when the model is confident.
                "state": "accepted" if tag.kind != Tag.Kind.SUBJECT or confidence >= auto_accept else "suggested",
            },
        )
        if created and suggestion.state == "accepted":
            pattern.tags.add(tag)
            if tag.kind == Tag.Kind.SUBJECT:
                # Attributes (format, colour, rendering) describe the files; a subject tag is a decision.
                record(TagDecided(pattern_id=pattern.pk, tag=tag.name, decision="accepted", source="model"))
        recorded.append(suggestion)
    pattern_refresh_search_vector(pattern=pattern)
    return recorded


def pattern_tags_add_by_creator(*, pattern: Pattern, user: User, text: str) -> list[Tag]:
    """The creator adds their own tags, comma-separated. Validated before anything is saved: each tag at most
    ``TESSERA_TAG_MAX_LENGTH`` characters and made of letters or digits (it is slugified), at most
    ``TESSERA_CREATOR_TAG_LIMIT`` tags on the pattern in all, no tag the pattern already has. Raises
    ``ValidationError`` keyed ``tags``; ``PermissionDenied`` for anyone but the creator."""
    if user.pk != pattern.creator_id:
        raise PermissionDenied("Only the pattern's creator can add tags to it.")
    max_length = settings.TESSERA_TAG_MAX_LENGTH
    limit = settings.TESSERA_CREATOR_TAG_LIMIT
    names = [" ".join(name.split()) for name in text.split(",")]
    names = [name for name in names if name]
    errors: list[str] = []
    if not names:
        errors.append("Type at least one tag; separate tags with commas.")
    seen: set[str] = set()
    existing = set(pattern.tags.values_list("slug", flat=True))
    for name in names:
        slug = slugify(name)
        if len(name) > max_length:
            errors.append(f"“{name[:max_length]}…” is longer than {max_length} characters.")
        elif not slug:
            errors.append(f"“{name}” has no letters or digits.")
        elif slug in existing:
            errors.append(f"The pattern already has the tag “{name}”.")
        elif slug in seen:
            errors.append(f"“{name}” is in the list twice.")
        seen.add(slug)
    subject_count = pattern.tags.filter(kind=Tag.Kind.SUBJECT).count()
    if subject_count + len(seen) > limit:
        room = max(0, limit - subject_count)
        errors.append(f"A pattern has at most {limit} tags; it has {subject_count}, so add at most {room}.")
    if errors:
        raise ValidationError({"tags": errors})
    with transaction.atomic():
        tags = pattern_tags_add(pattern=pattern, names=names, source=TagSuggestion.Source.CREATOR)
        for tag in tags:
            record(
                TagDecided(pattern_id=pattern.pk, tag=tag.name, decision="added", source="creator", actor_id=user.pk)
            )
    return tags


def tag_suggestion_decide(*, suggestion: TagSuggestion, user: User, accept: bool) -> TagSuggestion:
    """The creator (or a moderator) keeps or removes a tag; the decision trains the per-tag probes."""
    pattern = suggestion.pattern
    if user.pk != pattern.creator_id and not staff_has_perm(user, DECIDE_TAG_SUGGESTIONS):
        raise PermissionDenied("Only the pattern's creator or a moderator can decide on its tags.")
    with transaction.atomic():
        suggestion.state = "accepted" if accept else "rejected"
        suggestion.decided_by = user
        suggestion.save(update_fields=["state", "decided_by"])
        tag_suggestion_apply(suggestion=suggestion, actor=user)
    return suggestion


def tag_suggestion_apply(*, suggestion: TagSuggestion, actor: User) -> None:
    """Put the pattern's tags in line with a suggestion someone just saved (its creator in the status page, a
    moderator in the admin) and record the decision with its actor. Call inside the saving transaction."""
    pattern = suggestion.pattern
    accepted = suggestion.state == TagSuggestion.State.ACCEPTED
    if accepted:
        pattern.tags.add(suggestion.tag)
    else:
        pattern.tags.remove(suggestion.tag)
    pattern_refresh_search_vector(pattern=pattern)
    catalogue_changed()
    record(
        TagDecided(
            pattern_id=pattern.pk,
            tag=suggestion.tag.name,
            decision="accepted" if accepted else "rejected",
            source="creator" if actor.pk == pattern.creator_id else "staff",
            actor_id=actor.pk,
        )
    )


def pattern_moderate(
    *, pattern: Pattern, moderator: Any, action: str, reason: str = "", canned_reason: RejectionReason | None = None
) -> Pattern:
    """Approve or reject a pattern. Approve needs a pattern waiting for review; reject needs a reason.

    Every decision is recorded (who, what, the canned reason picked if any), and the pattern's review
    claim, if any, ends with it.
    """
    if not staff_has_perm(moderator, MODERATE_PATTERNS):
        raise PermissionDenied("Moderating patterns needs the catalog.change_pattern permission.")
    reason = reason.strip()
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
        if action == "approve":
            if locked.status != Pattern.Status.NEEDS_REVIEW:
                raise ValidationError(
                    {"action": f"Only patterns waiting for review can be approved; this one is {locked.status}."}
                )
            if _payouts_missing(locked):
                # Approved, but a paid pattern waits as a draft until its creator can be paid.
                locked.status = Pattern.Status.DRAFT
                locked.status_reason = PAYOUTS_WAIT_REASON
                locked.awaiting_payouts = True
            else:
                locked.status = Pattern.Status.PUBLISHED
                locked.status_reason = reason
                locked.published_at = timezone.now()
                # The files move to their public names once the approval is committed; until then the checked
                # views send them (to anyone, as the pattern is published).
                transaction.on_commit(partial(pattern_media_publish, pattern_id=locked.pk))
        elif action == "reject":
            if not reason:
                raise ValidationError({"reason": "Say why the pattern is rejected; the creator will read it."})
            if locked.status not in (Pattern.Status.NEEDS_REVIEW, Pattern.Status.PUBLISHED):
                raise ValidationError(
                    {"action": f"Only patterns in review or published can be rejected; this one is {locked.status}."}
                )
            locked.status = Pattern.Status.REJECTED
            locked.status_reason = reason
            pattern_media_hide(pattern=locked)
        else:
            raise ValidationError({"action": "Use 'approve' or 'reject'."})
        locked.save(update_fields=["status", "status_reason", "published_at", "awaiting_payouts", "updated_at"])
        # Version 1 is the original upload: it follows the pattern's own review.
        PatternVersion.objects.filter(pattern=locked, number=1).update(
            status=locked.status, status_reason=reason, published_at=locked.published_at
        )
        ModerationDecision.objects.create(
            pattern=locked,
            moderator=moderator if getattr(moderator, "pk", None) else None,
            action=action,
            canned_reason=canned_reason if action == "reject" else None,
            reason=reason,
        )
        ReviewClaim.objects.filter(pattern=locked).delete()
        moderator_id = getattr(moderator, "pk", None)
        if action == "approve" and locked.status == Pattern.Status.PUBLISHED:
            record(
                PatternPublished(
                    pattern_id=locked.pk, creator_id=locked.creator_id, reason=reason, actor_id=moderator_id
                )
            )
        elif action == "approve":
            # Approved but held by the payouts gate: in the history, and the creator is told what to do.
            record(
                PatternUpdated(
                    pattern_id=locked.pk,
                    changes={
                        "status": {"from": Pattern.Status.NEEDS_REVIEW, "to": Pattern.Status.DRAFT},
                        "awaiting_payouts": {"from": False, "to": True},
                    },
                    actor_id=moderator_id,
                )
            )
        elif action == "reject":
            record(
                PatternRejected(
                    pattern_id=locked.pk,
                    creator_id=locked.creator_id,
                    reason=reason,
                    reason_code=canned_reason.label if canned_reason is not None else "",
                    actor_id=moderator_id,
                )
            )

        # A published pattern appears, a rejected one disappears, on every cached catalogue page at once.
        catalogue_changed()
    return locked


def _relocate(field_file: FieldFile, *, directory: str) -> str:
    """Copy a stored file to a fresh random name under ``directory``; returns the old name for the caller to delete.

    The new name is unguessable and never reused, so a URL that was public once stays dead afterwards.
    """
    storage = field_file.storage
    old_name = field_file.name or ""
    target = f"{directory}{uuid.uuid4().hex}{PurePosixPath(old_name).suffix}"
    with storage.open(old_name, "rb") as handle:
        field_file.name = storage.save(target, handle)
    return old_name


def _pattern_media(pattern_id: int) -> list[tuple[Preview | PreviewRendition | ViewerModel, FieldFile]]:
    previews = Preview.objects.filter(pattern_id=pattern_id)
    renditions = PreviewRendition.objects.filter(preview__pattern_id=pattern_id)
    viewers = ViewerModel.objects.filter(pattern_file__pattern_id=pattern_id)
    return [(p, p.image) for p in previews] + [(r, r.image) for r in renditions] + [(v, v.file) for v in viewers]


def pattern_media_publish(*, pattern_id: int) -> int:
    """Give a published pattern's previews and viewer meshes public names (served without Python).

    Idempotent; does nothing unless the pattern is still published. Takes the pattern's row lock, so it
    cannot interleave with a rejection hiding the same files. Returns how many files moved.
    """
    with transaction.atomic():
        pattern = Pattern.objects.select_for_update().filter(pk=pattern_id).first()
        if pattern is None or pattern.status != Pattern.Status.PUBLISHED:
            return 0
        moved = 0
        for owner, field_file in _pattern_media(pattern_id):
            if field_file.name and not is_published_media(field_file.name):
                old_name = _relocate(field_file, directory=PUBLISHED_MEDIA_PREFIX)
                owner.save(update_fields=[field_file.field.name])
                # The private copy goes once the new name is committed: a rollback leaves the row pointing at it.
                transaction.on_commit(partial(field_file.storage.delete, old_name))
                moved += 1
        if moved:
            catalogue_changed()  # cached pages still link the previews' old (checked) URLs
    logger.info("Published %s media files of pattern %s", moved, pattern_id)
    return moved


def pattern_media_hide(*, pattern: Pattern) -> int:
    """Take a pattern's previews and viewer meshes off their public URLs (call under the pattern's row lock).

    Used whenever a pattern leaves "published" (rejected, reprocessed): each public file moves to a new
    random name outside the published prefix, and the old URL answers 404 at once. Returns how many moved.
    """
    moved = 0
    for owner, field_file in _pattern_media(pattern.pk):
        if field_file.name and is_published_media(field_file.name):
            directory = "viewer/hidden/" if isinstance(owner, ViewerModel) else "previews/hidden/"
            old_name = _relocate(field_file, directory=directory)
            owner.save(update_fields=[field_file.field.name])
            # The public copy goes at once, before the commit: should the transaction roll back, a published
            # pattern shows a missing picture rather than a rejected one keeping a public URL.
            field_file.storage.delete(old_name)
            moved += 1
    # Leaving "published" (rejected, reprocessed): off every cached catalogue page once committed.
    catalogue_changed()
    if moved:
        logger.info("Hid %s media files of pattern %s", moved, pattern.pk)
    return moved


# --- Processing outcomes, copy flags and edits: each change records its event (issue 11, pattern history) ---


def pattern_tags_changes_record(*, pattern: Pattern, before: set[str], actor: User) -> None:
    """Record ``tag.decided`` (added / removed, source "staff") for each tag a staff account put on or took off
    ``pattern`` directly (the admin change form), given the tag names it had ``before``. Call in that transaction."""
    after = set(pattern.tags.values_list("name", flat=True))
    for name, decision in [
        *((n, "added") for n in sorted(after - before)),
        *((n, "removed") for n in sorted(before - after)),
    ]:
        record(TagDecided(pattern_id=pattern.pk, tag=name, decision=decision, source="staff", actor_id=actor.pk))


def pattern_processing_finish(*, pattern: Pattern, warnings: int = 0) -> Pattern:
    """Processing ended well: the pattern waits for review (its tags may still be coming: step "tagging").

    Call with the pattern's row locked and still processing (ingestion's finalize holds the lock); records
    ``pattern.processed`` in the same transaction, so a finalize that runs twice records it once.
    """
    if pattern.status != Pattern.Status.PROCESSING:
        raise ValidationError(
            {"status": f"Only a processing pattern can finish processing; this one is {pattern.status}."}
        )
    pattern.processing_step = Pattern.Step.TAGGING
    pattern.status = Pattern.Status.NEEDS_REVIEW
    pattern.status_reason = ""
    pattern.save(update_fields=["processing_step", "status", "status_reason", "updated_at"])
    record(
        PatternProcessed(
            pattern_id=pattern.pk, status=pattern.status, file_count=pattern.files.count(), warnings=warnings
        )
    )
    return pattern


def pattern_processing_fail(*, pattern_id: int, reason: str, actor_id: int | None = None) -> Pattern | None:
    """Fail a pattern that is still processing, with a reason the creator reads, and record ``pattern.failed``.

    Idempotent: a pattern no longer processing (failed already, or finished) is left alone and nothing is
    recorded; returns the failed pattern, or None when nothing changed. Takes the pattern's row lock.
    """
    with transaction.atomic():
        pattern = Pattern.objects.select_for_update().filter(pk=pattern_id, status=Pattern.Status.PROCESSING).first()
        if pattern is None:
            return None
        pattern.status = Pattern.Status.FAILED
        pattern.status_reason = reason
        pattern.save(update_fields=["status", "status_reason", "updated_at"])
        record(PatternFailed(pattern_id=pattern.pk, reason=reason, actor_id=actor_id))
    logger.warning("pattern %s failed: %s", pattern_id, reason)
    return pattern


def copy_flag_record(
    *,
    pattern: Pattern,
    pattern_file: PatternFile,
    matched_file: PatternFile,
    kind: str,
    distance: float,
    threshold: float,
) -> CopyFlag:
    """Flag ``pattern_file`` as a possible copy of ``matched_file`` (found at ingestion) for a moderator.

    Idempotent: a match is flagged, and ``copy.flagged`` recorded, once however often ingestion runs.
    """
    with transaction.atomic():
        flag, created = CopyFlag.objects.get_or_create(
            pattern_file=pattern_file,
            matched_file=matched_file,
            kind=kind,
            defaults={"pattern": pattern, "distance": float(distance), "threshold": float(threshold)},
        )
        if created:
            record(
                CopyFlagged(
                    pattern_id=pattern.pk,
                    flag_id=flag.pk,
                    kind=kind,
                    matched_pattern_id=matched_file.pattern_id,
                    distance=float(distance),
                    threshold=float(threshold),
                )
            )
    return flag


COPY_DECISIONS = {"confirmed": CopyFlag.Status.CONFIRMED, "dismissed": CopyFlag.Status.DISMISSED}


def copy_flag_decide(*, flag: CopyFlag, moderator: User, decision: str) -> CopyFlag:
    """A moderator confirms a possible copy or dismisses it ("confirmed" / "dismissed"); ``copy.decided`` is
    recorded with the moderator. Deciding a flag the same way again changes and records nothing. Confirming does
    not reject the pattern by itself (the caller does, with ``pattern_moderate``)."""
    if decision not in COPY_DECISIONS:
        raise ValidationError({"decision": "Use 'confirmed' or 'dismissed'."})
    if not staff_has_perm(moderator, "catalog.change_copyflag"):
        raise PermissionDenied("Deciding copy flags needs the catalog.change_copyflag permission.")
    with transaction.atomic():
        locked = CopyFlag.objects.select_for_update().get(pk=flag.pk)
        if locked.status != COPY_DECISIONS[decision]:
            locked.status = COPY_DECISIONS[decision]
            locked.save(update_fields=["status"])
            record(
                CopyDecided(pattern_id=locked.pattern_id, flag_id=locked.pk, decision=decision, actor_id=moderator.pk)
            )
    flag.status = locked.status
    return flag


# What a pattern.updated event tracks: the fields buyers see. Long text is recorded as its length.
PATTERN_PUBLIC_FIELDS = ("title", "description", "category", "licence", "price", "commercial_price", "currency")
_LONG_TEXT_FIELDS = {"description"}


def pattern_public_values(pattern: Pattern) -> dict[str, object]:
    """The public fields of ``pattern`` as comparable plain values (category by slug, licence by code)."""
    return {
        "title": pattern.title,
        "description": pattern.description,
        "category": pattern.category.slug if pattern.category_id and pattern.category else None,
        "licence": pattern.licence.code if pattern.licence_id else None,
        "price": pattern.price,
        "commercial_price": pattern.commercial_price,
        "currency": pattern.currency,
    }


def pattern_changes_record(
    *,
    pattern: Pattern,
    before: dict[str, object],
    actor: User | None,
    extra: dict[str, dict[str, object]] | None = None,
) -> dict[str, dict[str, object]]:
    """Record ``pattern.updated`` with what changed since ``before`` (``pattern_public_values`` taken before the
    change), plus ``extra`` changes; nothing when nothing changed. Call inside the change's transaction."""
    after = pattern_public_values(pattern)
    changes: dict[str, dict[str, object]] = {}
    for name in PATTERN_PUBLIC_FIELDS:
        if before.get(name) != after[name]:
            old, new = before.get(name), after[name]
            if name in _LONG_TEXT_FIELDS:
                old, new = len(str(old or "")), len(str(new or ""))
            changes[name] = {"from": old, "to": new}
    changes.update(extra or {})
    if changes:
        record(PatternUpdated(pattern_id=pattern.pk, changes=changes, actor_id=getattr(actor, "pk", None)))
    return changes


PATTERN_EDITABLE_FIELDS = ("title", "description", "category", "licence", "price", "commercial_price")


def pattern_update(*, pattern: Pattern, actor: User, data: dict[str, Any]) -> Pattern:
    """The creator (or a moderator) edits a pattern's listing: ``data`` holds some of ``PATTERN_EDITABLE_FIELDS``
    (``category`` a Category or None, ``licence`` a Licence, prices in minor units).

    Validated like a new pattern before anything is saved (``ValidationError`` keyed by field). A rejected pattern
    its creator edits goes back to the review queue. Records ``pattern.updated`` with each changed field
    (from, to) and the actor; an edit that changes nothing records nothing.
    """
    if actor.pk != pattern.creator_id and not staff_has_perm(actor, MODERATE_PATTERNS):
        raise PermissionDenied("Only the pattern's creator or a moderator can edit it.")
    unknown = set(data) - set(PATTERN_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be edited."] for name in sorted(unknown)})
    with transaction.atomic():
        locked = (
            Pattern.objects.select_for_update(of=("self",)).select_related("category", "licence").get(pk=pattern.pk)
        )
        before = pattern_public_values(locked)
        for name, value in data.items():
            setattr(locked, name, value.strip() if isinstance(value, str) else value)
        errors: dict[str, list[str]] = {}
        try:
            locked.full_clean(exclude=["creator", "slug"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if locked.price > 0 and not locked.licence.requires_payment:
            errors.setdefault("licence", []).append(
                f"{locked.licence.name} lets anyone share the files, so it cannot be sold. "
                "Choose the Personal or Commercial licence, or make the pattern free."
            )
        if locked.commercial_price is not None and (
            locked.licence.code != "personal" or locked.commercial_price < locked.price
        ):
            errors.setdefault("commercial_price", []).append(
                "A Commercial tier is offered on top of a Personal licence, at a price no lower than Personal."
            )
        if locked.status == Pattern.Status.PUBLISHED and before.get("price") == 0 and _payouts_missing(locked):
            # A free pattern on sale may not start charging before its creator can be paid.
            errors.setdefault("price", []).append(PAYOUTS_NEEDED_FOR_PRICE)
        if errors:
            raise ValidationError(errors)
        if pattern_public_values(locked) == before:
            return locked
        fields = [*PATTERN_EDITABLE_FIELDS, "updated_at"]
        extra: dict[str, dict[str, object]] = {}
        if locked.status == Pattern.Status.REJECTED and actor.pk == locked.creator_id:
            # The creator answered the rejection: a moderator looks again.
            extra["status"] = {"from": locked.status, "to": Pattern.Status.NEEDS_REVIEW}
            locked.status = Pattern.Status.NEEDS_REVIEW
            locked.status_reason = ""  # the rejection's reason stays in the history
            fields += ["status", "status_reason"]
        locked.save(update_fields=fields)
        pattern_refresh_search_vector(pattern=locked)
        pattern_changes_record(pattern=locked, before=before, actor=actor, extra=extra)
        if locked.status == Pattern.Status.PUBLISHED:
            catalogue_changed()
    return locked


def pattern_community_counts_set(
    *,
    pattern_id: int,
    rating_average: float | None = None,
    rating_count: int | None = None,
    favourite_count: int | None = None,
) -> None:
    """Store the rating and favourite figures community computed (inside its own transaction), so catalogue pages
    and the API read them from the pattern row. Cached catalogue pages are dropped."""
    values: dict[str, Any] = {}
    if rating_count is not None:
        values["rating_count"] = rating_count
        values["rating_average"] = None if rating_average is None else round(rating_average, 2)
    if favourite_count is not None:
        values["favourite_count"] = favourite_count
    if values:
        Pattern.objects.filter(pk=pattern_id).update(**values)
        catalogue_changed()


# --- Versions (issue 12) ---


def version_processing_finish(*, version_id: int, warnings: int = 0) -> PatternVersion | None:
    """Every file of a new version passed its checks: it waits for a moderator (the current one stays on sale)."""
    updated = PatternVersion.objects.filter(pk=version_id, status=PatternVersion.Status.PROCESSING).update(
        status=PatternVersion.Status.NEEDS_REVIEW,
        status_reason=f"{warnings} warning(s) in the files." if warnings else "",
    )
    logger.info("version %s processed (%s)", version_id, "needs review" if updated else "unchanged")
    return PatternVersion.objects.filter(pk=version_id).first()


def version_processing_fail(*, version_id: int, reason: str) -> PatternVersion | None:
    """A file of a new version failed its checks: the version fails with a reason the creator can read."""
    PatternVersion.objects.filter(pk=version_id, status=PatternVersion.Status.PROCESSING).update(
        status=PatternVersion.Status.FAILED, status_reason=reason
    )
    return PatternVersion.objects.filter(pk=version_id).first()


def version_moderate(*, version: PatternVersion, moderator: Any, action: str, reason: str = "") -> PatternVersion:
    """Approve or reject a new version waiting for review (the same permission as moderating patterns).

    Approval makes it the pattern's current version and records ``pattern.version_published`` (delivery prepares
    each earlier buyer's own marked copy from it); rejection needs a reason and leaves the current version on sale.
    """
    if not staff_has_perm(moderator, MODERATE_PATTERNS):
        raise PermissionDenied("Moderating patterns needs the catalog.change_pattern permission.")
    reason = reason.strip()
    if action not in ("approve", "reject"):
        raise ValidationError({"action": "Use 'approve' or 'reject'."})
    if action == "reject" and not reason:
        raise ValidationError({"reason": "Say why the version is rejected; the creator will read it."})
    with transaction.atomic():
        locked = PatternVersion.objects.select_for_update().select_related("pattern").get(pk=version.pk)
        if locked.number == 1:
            raise ValidationError({"action": "Version 1 is the original upload; moderate the pattern itself."})
        if locked.status != PatternVersion.Status.NEEDS_REVIEW:
            raise ValidationError(
                {"action": f"Only versions waiting for review can be moderated; this one is {locked.status}."}
            )
        moderator_id = getattr(moderator, "pk", None)
        pattern = locked.pattern
        if action == "approve":
            locked.status = PatternVersion.Status.PUBLISHED
            locked.published_at = timezone.now()
            locked.status_reason = reason
            locked.save(update_fields=["status", "published_at", "status_reason"])
            record(
                PatternVersionPublished(
                    pattern_id=pattern.pk,
                    creator_id=pattern.creator_id,
                    version=locked.number,
                    changelog=locked.changelog,
                    actor_id=moderator_id,
                )
            )
            transaction.on_commit(partial(pattern_media_publish, pattern_id=pattern.pk))
            catalogue_changed()
        else:
            locked.status = PatternVersion.Status.REJECTED
            locked.status_reason = reason
            locked.save(update_fields=["status", "status_reason"])
            record(
                PatternVersionRejected(
                    pattern_id=pattern.pk,
                    creator_id=pattern.creator_id,
                    version=locked.number,
                    reason=reason,
                    actor_id=moderator_id,
                )
            )
    return locked


# --- Listing lifecycle and the payouts gate (issue 12, h/shops) ---

PAYOUTS_WAIT_REASON = (
    "Approved, waiting for payouts: a paid pattern is published once your payouts are set up "
    "(Start selling → Payouts). Free patterns are not affected."
)


PAYOUTS_NEEDED_FOR_PRICE = "Set up your payouts (Start selling → Payouts) before charging for a published pattern."


def _payouts_missing(pattern: Pattern) -> bool:
    """A paid pattern whose creator cannot be paid yet (Stripe Connect not ready) may not go on sale."""
    if pattern.price == 0 or not settings.TESSERA_PAYOUTS_REQUIRED_TO_PUBLISH:
        return False
    return not CreatorProfile.objects.filter(user_id=pattern.creator_id, payouts_ready=True).exists()


def _may_manage(pattern: Pattern, actor: Any) -> bool:
    return bool(pattern.creator_id == getattr(actor, "pk", None) or staff_has_perm(actor, MODERATE_PATTERNS))


def pattern_unpublish(*, pattern: Pattern, actor: Any) -> Pattern:
    """Take a published pattern off sale (its creator or a moderator): gone from the shop and search, its page
    404 for others; buyers keep their library entries and downloads. Records ``pattern.unpublished``."""
    if not _may_manage(pattern, actor):
        raise PermissionDenied("Only the pattern's creator or a moderator can unpublish it.")
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
        if locked.status != Pattern.Status.PUBLISHED:
            raise ValidationError(
                {"status": f"Only a published pattern can be unpublished; this one is {locked.status}."}
            )
        locked.status = Pattern.Status.UNPUBLISHED
        locked.status_reason = ""
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        pattern_media_hide(pattern=locked)
        record(PatternUnpublished(pattern_id=locked.pk, creator_id=locked.creator_id, actor_id=actor.pk))
        catalogue_changed()
    return locked


def pattern_republish(*, pattern: Pattern, actor: Any) -> Pattern:
    """Put an unpublished pattern back on sale (it was reviewed already). A paid one needs payouts set up.
    Records ``pattern.published`` with the actor and ``republished=True``: no new approval, nothing new to announce."""
    if not _may_manage(pattern, actor):
        raise PermissionDenied("Only the pattern's creator or a moderator can publish it again.")
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
        if locked.status != Pattern.Status.UNPUBLISHED:
            raise ValidationError(
                {"status": f"Only an unpublished pattern can be published again; this one is {locked.status}."}
            )
        if _payouts_missing(locked):
            raise ValidationError({"status": PAYOUTS_WAIT_REASON})
        if CreatorProfile.objects.filter(user_id=locked.creator_id, selling_suspended_at__isnull=False).exists():
            raise ValidationError({"status": SUSPENDED_REASON})
        locked.status = Pattern.Status.PUBLISHED
        locked.status_reason = ""
        locked.published_at = timezone.now()
        locked.save(update_fields=["status", "status_reason", "published_at", "updated_at"])
        transaction.on_commit(partial(pattern_media_publish, pattern_id=locked.pk))
        record(
            PatternPublished(
                pattern_id=locked.pk,
                creator_id=locked.creator_id,
                reason="Published again",
                republished=True,
                actor_id=actor.pk,
            )
        )
        catalogue_changed()
    return locked


def pattern_delete(*, pattern: Pattern, actor: Any) -> Pattern:
    """Soft delete (its creator or a moderator): hidden from the shop, search and API lists, its page 404 for
    everyone but its creator and staff; buyers keep their library entries and downloads (orders, entitlements
    and files stay). Records ``pattern.deleted``. Not while ingestion is still working on it."""
    if not _may_manage(pattern, actor):
        raise PermissionDenied("Only the pattern's creator or a moderator can delete it.")
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().get(pk=pattern.pk)
        if locked.status == Pattern.Status.DELETED:
            raise ValidationError({"status": "This pattern is deleted already."})
        if locked.status == Pattern.Status.PROCESSING:
            raise ValidationError({"status": "This pattern is still being processed; delete it when that ends."})
        locked.status = Pattern.Status.DELETED
        locked.status_reason = ""
        locked.awaiting_payouts = False
        locked.save(update_fields=["status", "status_reason", "awaiting_payouts", "updated_at"])
        pattern_media_hide(pattern=locked)
        record(PatternDeleted(pattern_id=locked.pk, creator_id=locked.creator_id, actor_id=actor.pk))
        catalogue_changed()
    return locked


def creator_payouts_ready_set(*, user_id: int, ready: bool) -> list[Pattern]:
    """Payments calls this when Stripe Connect reports the creator's payout account ready (or no longer). When
    ready, every approved paid pattern waiting for payouts is published (``pattern.published``, no actor).
    Idempotent; returns the patterns it published."""
    published: list[Pattern] = []
    with transaction.atomic():
        profile, _ = CreatorProfile.objects.select_for_update().get_or_create(
            user_id=user_id, defaults={"display_name": User.objects.get(pk=user_id).username}
        )
        if profile.payouts_ready != ready:
            profile.payouts_ready = ready
            profile.save(update_fields=["payouts_ready"])
        if not ready:
            return published
        waiting = Pattern.objects.select_for_update().filter(
            creator_id=user_id, status=Pattern.Status.DRAFT, awaiting_payouts=True
        )
        for pattern in waiting:
            pattern.status = Pattern.Status.PUBLISHED
            pattern.status_reason = ""
            pattern.awaiting_payouts = False
            pattern.published_at = timezone.now()
            pattern.save(update_fields=["status", "status_reason", "awaiting_payouts", "published_at", "updated_at"])
            # Version 1 follows the pattern's own review (as in pattern_moderate): it goes on sale with it.
            PatternVersion.objects.filter(pattern=pattern, number=1).update(
                status=Pattern.Status.PUBLISHED, status_reason="", published_at=pattern.published_at
            )
            transaction.on_commit(partial(pattern_media_publish, pattern_id=pattern.pk))
            record(PatternPublished(pattern_id=pattern.pk, creator_id=user_id, reason="Payouts set up", actor_id=None))
            published.append(pattern)
        if published:
            catalogue_changed()
    return published


def creator_sales_add(*, counts: dict[int, int]) -> None:
    """Add paid order lines to creators' sales counters (``counts``: creator id → lines). Called by payments'
    outbox handler of ``order.paid`` (its receipt commits with this write, so a retry never counts twice).
    Cached pages are dropped only when a shop's public sales band changes."""
    band_changed = False
    for creator_id, lines in counts.items():
        user = User.objects.filter(pk=creator_id).first()
        if user is None or lines <= 0:
            continue
        profile, _ = CreatorProfile.objects.select_for_update().get_or_create(
            user=user, defaults={"display_name": user.get_full_name() or user.username}
        )
        before = profile.sales_count
        profile.sales_count = F("sales_count") + lines
        profile.save(update_fields=["sales_count"])
        band_changed = band_changed or sales_band(before) != sales_band(before + lines)
    if band_changed:
        catalogue_changed()


def creator_profile_update(
    *, user: User, display_name: str, bio: str, links: list[str], avatar: Any = None, banner: Any = None
) -> CreatorProfile:
    """The creator edits their shop profile (validated by CreatorProfileForm); a picture not sent is kept.
    The shop page and pattern pages show it at once (cached pages are dropped)."""
    with transaction.atomic():
        profile = creator_profile_ensure(user=user)
        profile.display_name = display_name
        profile.bio = bio
        profile.links = links
        if avatar:
            profile.avatar = avatar
        if banner:
            profile.banner = banner
        profile.save()
        catalogue_changed()
    return profile


def seller_terms_accept(*, user: User) -> CreatorProfile:
    """ "Start selling", last step: the creator accepts the seller terms (once; the first acceptance is kept)."""
    with transaction.atomic():
        profile = creator_profile_ensure(user=user)
        profile = CreatorProfile.objects.select_for_update().get(pk=profile.pk)
        if profile.seller_terms_accepted_at is None:
            profile.seller_terms_accepted_at = timezone.now()
            profile.save(update_fields=["seller_terms_accepted_at"])
    return profile


def pattern_tags_replace_by_creator(*, pattern: Pattern, user: User, names: Sequence[str]) -> list[Tag]:
    """``tags`` of ``PATCH /api/v1/patterns/{id}/``: the creator's own tags become exactly ``names`` (tags from
    the tagger and file formats are left alone). Validated like adding tags, before anything changes; records a
    ``tag.decided`` per tag removed or added."""
    if user.pk != pattern.creator_id:
        raise PermissionDenied("Only the pattern's creator can change its tags.")
    wanted = {slugify(" ".join(name.split())): " ".join(name.split()) for name in names if name.strip()}
    with transaction.atomic():
        Pattern.objects.select_for_update().filter(pk=pattern.pk).first()
        own = TagSuggestion.objects.filter(pattern=pattern, source=TagSuggestion.Source.CREATOR).select_related("tag")
        removed = [suggestion for suggestion in own if suggestion.tag.slug not in wanted]
        kept = {suggestion.tag.slug for suggestion in own} - {suggestion.tag.slug for suggestion in removed}
        for suggestion in removed:
            pattern.tags.remove(suggestion.tag)
            suggestion.delete()
            record(
                TagDecided(
                    pattern_id=pattern.pk,
                    tag=suggestion.tag.name,
                    decision="removed",
                    source="creator",
                    actor_id=user.pk,
                )
            )
        new = [name for slug, name in wanted.items() if slug not in kept]
        added = pattern_tags_add_by_creator(pattern=pattern, user=user, text=",".join(new)) if new else []
        if removed and not added:
            pattern_refresh_search_vector(pattern=pattern)
            if pattern.status == Pattern.Status.PUBLISHED:
                catalogue_changed()
    return added


def pattern_previews_order(*, pattern: Pattern, actor: User, preview_ids: Sequence[int]) -> None:
    """``preview_order`` of ``PATCH /api/v1/patterns/{id}/``: the creator (or a moderator) orders the pattern's
    previews; the first is the cover (cards, the pattern page, sharing). ``preview_ids`` must list every preview
    of the pattern once. Recorded as ``pattern.updated`` (``cover`` and ``preview_order``)."""
    if actor.pk != pattern.creator_id and not staff_has_perm(actor, MODERATE_PATTERNS):
        raise PermissionDenied("Only the pattern's creator or a moderator can order its previews.")
    with transaction.atomic():
        Pattern.objects.select_for_update().filter(pk=pattern.pk).first()
        previews = list(Preview.objects.filter(pattern=pattern).order_by("sort_order", "pattern_file_id", "position"))
        before = [preview.pk for preview in previews]
        wanted = list(preview_ids)
        if sorted(wanted) != sorted(before):
            raise ValidationError(
                {
                    "preview_order": [
                        f"List each of this pattern's previews once: {', '.join(map(str, sorted(before)))}."
                    ]
                }
            )
        if wanted == before:
            return
        by_id = {preview.pk: preview for preview in previews}
        for index, preview_id in enumerate(wanted, start=1):
            by_id[preview_id].sort_order = index
        Preview.objects.bulk_update(previews, ["sort_order"])
        changes: dict[str, dict[str, object]] = {"preview_order": {"from": before, "to": wanted}}
        if before[0] != wanted[0]:
            changes["cover"] = {"from": before[0], "to": wanted[0]}
        record(PatternUpdated(pattern_id=pattern.pk, changes=changes, actor_id=actor.pk))
        if pattern.status == Pattern.Status.PUBLISHED:
            catalogue_changed()


# --- Takedowns and the repeat-infringer policy (issue 14, h/trust): trust decides, catalog changes the listing ---

# Listings a notice may take down: those the public could see, or that their creator could put back on sale.
REMOVABLE_STATUSES = (Pattern.Status.PUBLISHED, Pattern.Status.UNPUBLISHED)
SUSPENDED_REASON = "Selling is suspended on this account (repeat-infringer policy); you can appeal the suspension."


def pattern_remove_for_notice(*, pattern_id: int, actor: Any, notice_id: int, reason: str) -> str | None:
    """Take a listing down on a notice of infringement: its page and API answer 404 to the public at once, its
    previews leave their public URLs, cached pages drop it. Records ``pattern.removed`` with the actor. Returns the
    status it had (for a restoration), or None when it was not removable (deleted, never published, removed).
    Call inside the decision's transaction."""
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().filter(pk=pattern_id).first()
        if locked is None or locked.status not in REMOVABLE_STATUSES:
            return None
        previous = locked.status
        locked.status = Pattern.Status.REMOVED
        locked.status_reason = f"Removed on notice #{notice_id}: {reason}"
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        pattern_media_hide(pattern=locked)
        record(
            PatternRemoved(
                pattern_id=locked.pk,
                creator_id=locked.creator_id,
                notice_id=notice_id,
                reason=reason,
                previous_status=previous,
                actor_id=getattr(actor, "pk", None),
            )
        )
        catalogue_changed()
    return previous


def pattern_restore_after_notice(
    *, pattern_id: int, notice_id: int, status: str, reason: str, actor_id: int | None = None
) -> bool:
    """Bring a removed listing back to ``status`` (what it was before the removal). Idempotent: False when the
    pattern is no longer removed (deleted by its creator meanwhile, restored already). Records
    ``pattern.restored``."""
    if status not in REMOVABLE_STATUSES:
        raise ValueError(f"cannot restore a pattern to {status!r}")
    with transaction.atomic():
        locked = Pattern.objects.select_for_update().filter(pk=pattern_id).first()
        if locked is None or locked.status != Pattern.Status.REMOVED:
            return False
        locked.status = status
        locked.status_reason = ""
        locked.save(update_fields=["status", "status_reason", "updated_at"])
        if status == Pattern.Status.PUBLISHED:
            transaction.on_commit(partial(pattern_media_publish, pattern_id=locked.pk))
        record(
            PatternRestored(
                pattern_id=locked.pk,
                creator_id=locked.creator_id,
                notice_id=notice_id,
                status=status,
                reason=reason,
                actor_id=actor_id,
            )
        )
        catalogue_changed()
    return True


def creator_selling_suspend_set(*, user_id: int, suspended: bool) -> bool:
    """Suspend (or reinstate) a creator's selling: while suspended they cannot submit, publish, or be bought from.
    Trust calls this and records the event. Returns whether anything changed."""
    with transaction.atomic():
        user = User.objects.get(pk=user_id)
        profile, _ = CreatorProfile.objects.select_for_update().get_or_create(
            user=user, defaults={"display_name": user.get_full_name() or user.username}
        )
        if (profile.selling_suspended_at is not None) == suspended:
            return False
        profile.selling_suspended_at = timezone.now() if suspended else None
        profile.save(update_fields=["selling_suspended_at"])
    return True
