"""Reads of notifications."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from notifications.models import Notification

UNREAD_CACHE_SECONDS = 30


def notification_list_for(*, user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def unread_count(*, user: Any) -> int:
    """The bell's number: one small indexed query, cached briefly per person (cleared when they read)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    key = _unread_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        cache.set(key, count, UNREAD_CACHE_SECONDS)
    return int(count)


def unread_forget(*, user_ids: list[int]) -> None:
    cache.delete_many([_unread_key(user_id) for user_id in user_ids])
