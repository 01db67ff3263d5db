"""Reads of notifications."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Count, QuerySet

from notifications.models import Notification

# The bell's number lives in the cache, written whenever it changes (a notification written, one read), so no
# page spends a query on it; a key lost to eviction shows no number until the next change or a visit to the centre.
UNREAD_CACHE_SECONDS = 30 * 24 * 3600


def notification_list_for(*, user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def unread_count(*, user: Any) -> int:
    """The bell's number, from the cache only (0 queries on every page)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return int(cache.get(_unread_key(user.pk)) or 0)


def unread_refresh(*, user_ids: list[int]) -> None:
    """Count the unread notifications of ``user_ids`` (one query) and keep the numbers for the bell."""
    if not user_ids:
        return
    counts = dict(
        Notification.objects.filter(recipient_id__in=user_ids, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("pk"))
        .values_list("recipient_id", "n")
    )
    cache.set_many({_unread_key(user_id): counts.get(user_id, 0) for user_id in user_ids}, UNREAD_CACHE_SECONDS)
