"""Reads of reviews, favourites, collections and follows."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from community.models import Collection, Favourite, Follow, Review


def review_list_visible(*, pattern_id: int) -> QuerySet[Review]:
    """A pattern's reviews people see: hidden ones left out, newest first."""
    return (
        Review.objects.filter(pattern_id=pattern_id, hidden_at__isnull=True)
        .select_related("buyer")
        .prefetch_related("photos")
        .order_by("-created_at", "-id")
    )


def favourite_list(*, user: Any) -> QuerySet[Favourite]:
    return (
        Favourite.objects.filter(user=user).select_related("pattern", "pattern__creator").order_by("-created_at", "-id")
    )


def favourite_pattern_ids(*, user: Any, pattern_ids: list[int]) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(Favourite.objects.filter(user=user, pattern_id__in=pattern_ids).values_list("pattern_id", flat=True))


def collections_visible_to(*, user: Any) -> QuerySet[Collection]:
    """Public collections and the user's own; another user's private collection is not found (404)."""
    condition = Q(is_public=True)
    if getattr(user, "is_authenticated", False):
        condition |= Q(owner=user)
    return Collection.objects.filter(condition).select_related("owner")


def follower_ids(*, creator_id: int) -> list[int]:
    """Ids of the users following a creator (the notifications helper tells them of new patterns)."""
    return list(
        Follow.objects.filter(creator_id=creator_id).order_by("follower_id").values_list("follower_id", flat=True)
    )


def is_following(*, follower: Any, creator_id: int) -> bool:
    if not getattr(follower, "is_authenticated", False):
        return False
    return Follow.objects.filter(follower=follower, creator_id=creator_id).exists()


def review_list_for_moderator(*, pattern_id: int) -> QuerySet[Review]:
    """A pattern's reviews, hidden ones included (marked on the page, with Show), newest first."""
    return (
        Review.objects.filter(pattern_id=pattern_id)
        .select_related("buyer")
        .prefetch_related("photos")
        .order_by("-created_at", "-id")
    )
