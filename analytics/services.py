"""Writes for analytics events."""

from __future__ import annotations

from typing import Any

from analytics.models import Event


def event_record(
    *,
    kind: str,
    user: Any = None,
    pattern: Any = None,
    pattern_id: int | None = None,
    path: str = "",
    query: str = "",
    result_count: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> Event:
    """Record one analytics event; anonymous users are stored as no user. ``pattern`` or its ``pattern_id``."""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return Event.objects.create(
        kind=kind,
        user=user,
        pattern_id=pattern.pk if pattern is not None else pattern_id,
        path=path[:255],
        query=query[:255],
        result_count=result_count,
        metadata=metadata or {},
    )


def search_request_record(*, user: Any, query: str, wanted: str, path: str = "") -> Event:
    """A buyer's "tell us what you wanted" after a search that found little: the query and their own words."""
    return event_record(
        kind=Event.Kind.SEARCH_REQUEST,
        user=user,
        query=query,
        path=path,
        metadata={"wanted": wanted},
    )
