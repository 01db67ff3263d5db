"""Writes of reviews, favourites, collections and follows. Each runs in one transaction with the event it records
and the pattern's denormalised figures (catalog.services.pattern_community_counts_set)."""

from __future__ import annotations

import logging
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone

from catalog.models import Pattern
from catalog.permissions import MODERATE_PATTERNS, staff_has_perm
from catalog.services import pattern_community_counts_set
from catalog.vision import ImageUnreadable, TooManyPixels, open_within
from community.events import CreatorFollowed, ReviewCreated
from community.models import Collection, CollectionItem, Favourite, Follow, Review, ReviewPhoto
from delivery.selectors import entitled_pattern_ids
from marketplace.events import record
from marketplace.page_cache import catalogue_changed

logger = logging.getLogger(__name__)

PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def _lock_pattern(pattern_id: int) -> None:
    """Serialise the figure updates of one pattern (two reviews at once must not both write a stale average)."""
    Pattern.objects.select_for_update().filter(pk=pattern_id).values_list("pk", flat=True).first()


def pattern_rating_refresh(*, pattern_id: int) -> None:
    """Recompute the pattern's average and count from its visible reviews (hidden ones do not count)."""
    figures = Review.objects.filter(pattern_id=pattern_id, hidden_at__isnull=True).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    average = figures["average"]
    pattern_community_counts_set(
        pattern_id=pattern_id,
        rating_average=None if average is None else float(average),
        rating_count=figures["count"],
    )


def review_create(*, pattern: Pattern, buyer: Any, rating: int, text: str) -> Review:
    """A buyer's review. Only someone holding an active entitlement (a verified purchase) may review; one review
    per buyer per pattern (a second is refused: the first is edited with review_update)."""
    if pattern.creator_id == buyer.pk:
        raise PermissionDenied("You cannot review your own pattern.")
    if pattern.pk not in entitled_pattern_ids(buyer=buyer, pattern_ids=[pattern.pk]):
        raise PermissionDenied("Only buyers of this pattern can review it.")
    with transaction.atomic():
        _lock_pattern(pattern.pk)
        if Review.objects.filter(pattern=pattern, buyer=buyer).exists():
            raise ValidationError("You already reviewed this pattern; edit your review instead.", code="duplicate")
        try:
            with transaction.atomic():
                review = Review.objects.create(pattern=pattern, buyer=buyer, rating=rating, text=text)
        except IntegrityError as exc:
            raise ValidationError("You already reviewed this pattern; edit your review instead.") from exc
        pattern_rating_refresh(pattern_id=pattern.pk)
        record(
            ReviewCreated(
                actor_id=buyer.pk,
                review_id=review.pk,
                pattern_id=pattern.pk,
                creator_id=pattern.creator_id,
                rating=rating,
            )
        )
    logger.info("review %s created on pattern %s", review.pk, pattern.pk)
    return review


def review_update(*, review: Review, user: Any, rating: int | None = None, text: str | None = None) -> Review:
    if review.buyer_id != user.pk:
        raise PermissionDenied("Only the author can edit a review.")
    with transaction.atomic():
        _lock_pattern(review.pattern_id)
        if rating is not None:
            review.rating = rating
        if text is not None:
            review.text = text
        review.save(update_fields=["rating", "text", "updated_at"])
        pattern_rating_refresh(pattern_id=review.pattern_id)
    return review


def review_reply(*, review: Review, user: Any, text: str) -> Review:
    """The pattern's creator answers a review, once."""
    if review.pattern.creator_id != user.pk:
        raise PermissionDenied("Only the pattern's creator can reply.")
    with transaction.atomic():
        updated = Review.objects.filter(pk=review.pk, replied_at__isnull=True).update(
            reply=text, replied_at=timezone.now()
        )
        if not updated:
            raise ValidationError("You already replied to this review.", code="replied")
    review.refresh_from_db()
    return review


def review_set_hidden(*, review: Review, user: Any, hidden: bool) -> Review:
    """Staff hide (or show again) a review; a hidden review leaves the lists and the average."""
    if not staff_has_perm(user, MODERATE_PATTERNS):
        raise PermissionDenied("Only moderators can hide reviews.")
    with transaction.atomic():
        _lock_pattern(review.pattern_id)
        review.hidden_at = timezone.now() if hidden else None
        review.save(update_fields=["hidden_at", "updated_at"])
        pattern_rating_refresh(pattern_id=review.pattern_id)
    logger.info("review %s hidden=%s by %s", review.pk, hidden, user.pk)
    return review


def review_photo_add(*, review: Review, user: Any, upload: IO[bytes], size: int) -> ReviewPhoto:
    """A photo of a make: JPEG, PNG or WebP, within the byte and pixel limits, decoded before it is stored."""
    if review.buyer_id != user.pk:
        raise PermissionDenied("Only the author can add photos to a review.")
    if review.photos.count() >= settings.TESSERA_REVIEW_MAX_PHOTOS:
        raise ValidationError(f"A review takes at most {settings.TESSERA_REVIEW_MAX_PHOTOS} photos.")
    if size > settings.TESSERA_REVIEW_PHOTO_MAX_BYTES:
        raise ValidationError(f"The photo is larger than {settings.TESSERA_REVIEW_PHOTO_MAX_BYTES:,} bytes.")
    try:
        image = open_within(upload, max_pixels=settings.TESSERA_REVIEW_PHOTO_MAX_PIXELS)
    except TooManyPixels as exc:
        raise ValidationError(
            f"The photo has more than {settings.TESSERA_REVIEW_PHOTO_MAX_PIXELS:,} pixels; scale it down."
        ) from exc
    except ImageUnreadable as exc:
        raise ValidationError("The file is not a JPEG, PNG or WebP image, or it is damaged.") from exc
    with image:
        extension = PHOTO_FORMATS.get(image.format or "")
        if extension is None:
            raise ValidationError("Photos must be JPEG, PNG or WebP.")
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ValidationError("The image data is damaged and does not decode.") from exc
        width, height = image.size
    upload.seek(0)
    photo = ReviewPhoto(review=review, width=width, height=height)
    photo.image.save(f"review-{review.pk}.{extension}", ContentFile(upload.read()), save=True)
    return photo


def favourite_set(*, user: Any, pattern: Pattern, on: bool) -> bool:
    """Favourite (on) or unfavourite a pattern; idempotent. Returns whether it is a favourite now."""
    with transaction.atomic():
        _lock_pattern(pattern.pk)
        if on:
            Favourite.objects.get_or_create(user=user, pattern=pattern)
        else:
            Favourite.objects.filter(user=user, pattern=pattern).delete()
        pattern_community_counts_set(
            pattern_id=pattern.pk, favourite_count=Favourite.objects.filter(pattern=pattern).count()
        )
    return on


def collection_create(*, owner: Any, name: str, description: str = "", is_public: bool = False) -> Collection:
    if Collection.objects.filter(owner=owner).count() >= settings.TESSERA_COLLECTIONS_MAX_PER_USER:
        raise ValidationError(f"You can have at most {settings.TESSERA_COLLECTIONS_MAX_PER_USER} collections.")
    try:
        with transaction.atomic():
            return Collection.objects.create(owner=owner, name=name, description=description, is_public=is_public)
    except IntegrityError as exc:
        raise ValidationError("You already have a collection with this name.") from exc


def collection_update(*, collection: Collection, data: dict[str, Any]) -> Collection:
    for field in ("name", "description", "is_public"):
        if field in data:
            setattr(collection, field, data[field])
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError as exc:
        raise ValidationError("You already have a collection with this name.") from exc
    return collection


def collection_pattern_set(*, collection: Collection, pattern: Pattern, on: bool) -> None:
    """Add (on) or remove a pattern; idempotent."""
    with transaction.atomic():
        if on:
            _, changed = CollectionItem.objects.get_or_create(collection=collection, pattern=pattern)
        else:
            changed = CollectionItem.objects.filter(collection=collection, pattern=pattern).delete()[0] > 0
        collection.save(update_fields=["updated_at"])
        if changed:
            catalogue_changed()  # the pattern page's collection count (cached pages show it to visitors)


def follow_set(*, follower: Any, creator: Any, on: bool) -> bool:
    """Follow (on) or unfollow a creator; idempotent. A new follow records creator.followed."""
    if follower.pk == creator.pk:
        raise ValidationError("You cannot follow yourself.")
    with transaction.atomic():
        if on:
            _, changed = Follow.objects.get_or_create(follower=follower, creator=creator)
            if changed:
                record(CreatorFollowed(actor_id=follower.pk, creator_id=creator.pk))
        else:
            changed = Follow.objects.filter(follower=follower, creator=creator).delete()[0] > 0
        if changed:
            catalogue_changed()  # the shop page's follower count (cached pages show it to visitors)
    return on
