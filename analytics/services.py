"""Writes for analytics events.

Search requests are written at once (``event_record``). Purchases and downloads are written from the outbox
after their ``order.paid`` / ``download.served`` event committed (``analytics.handlers``, ``events_store``), with
the time of the event. Page views and searches, one per catalogue request, are buffered instead (``event_track``): one
LPUSH to a bounded Redis list in the request, written to PostgreSQL in batches by the ``analytics.tasks.
events_drain`` beat task (``events_drain``), so that no page waits on an INSERT. The rows are the same as
``event_record`` would write, ``created_at`` included (the time of the request). Best effort: while Redis is
unreachable (the request waits at most TESSERA_EVENTS_BUFFER_TIMEOUT seconds) or the buffer is full
(TESSERA_EVENTS_BUFFER_MAX events, the oldest go), events are lost and counted in
``tessera_analytics_events_lost_total{reason}``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from analytics.models import Event
from marketplace.broker import broker_client
from marketplace.metrics import analytics_events_lost_total

logger = logging.getLogger(__name__)

BUFFER_KEY = "analytics:event-buffer"


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
    return Event.objects.create(
        **_event_fields(
            kind=kind,
            user=user,
            pattern=pattern,
            pattern_id=pattern_id,
            path=path,
            query=query,
            result_count=result_count,
            metadata=metadata,
        )
    )


def _event_fields(
    *,
    kind: str,
    user: Any,
    pattern: Any,
    pattern_id: int | None,
    path: str,
    query: str,
    result_count: int | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    """An event's column values, written now (``event_record``) or buffered (``event_track``) alike."""
    return {
        "kind": kind,
        "user_id": user.pk if user is not None and getattr(user, "is_authenticated", False) else None,
        "pattern_id": pattern.pk if pattern is not None else pattern_id,
        "path": path[:255],
        "query": query[:255],
        "result_count": result_count,
        "metadata": metadata or {},
    }


def events_store(*, events: list[Event]) -> list[Event]:
    """Write events built elsewhere (the outbox handlers of purchases and downloads, ``analytics.handlers``), their
    time kept; a user or pattern deleted since the fact happened becomes no one / nothing."""
    _forget_deleted(events)
    return Event.objects.bulk_create(events)


def search_request_record(*, user: Any, query: str, wanted: str, path: str = "") -> Event:
    """A buyer's "tell us what you wanted" after a search that found little: the query and their own words."""
    return event_record(
        kind=Event.Kind.SEARCH_REQUEST,
        user=user,
        query=query,
        path=path,
        metadata={"wanted": wanted},
    )


def event_track(
    *,
    kind: str,
    user: Any = None,
    pattern: Any = None,
    pattern_id: int | None = None,
    path: str = "",
    query: str = "",
    result_count: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Buffer one page view or search (the arguments of ``event_record``); ``events_drain`` writes it."""
    fields = _event_fields(
        kind=kind,
        user=user,
        pattern=pattern,
        pattern_id=pattern_id,
        path=path,
        query=query,
        result_count=result_count,
        metadata=metadata,
    )
    payload = json.dumps({**fields, "created_at": timezone.now().isoformat()})
    limit = settings.TESSERA_EVENTS_BUFFER_MAX
    try:
        with broker_client(timeout=settings.TESSERA_EVENTS_BUFFER_TIMEOUT).pipeline(transaction=False) as pipe:
            pipe.lpush(BUFFER_KEY, payload)
            pipe.ltrim(BUFFER_KEY, 0, limit - 1)  # the newest stay; a full buffer loses its oldest
            length, _ = pipe.execute()
    except (redis.RedisError, OSError) as exc:
        analytics_events_lost_total.labels(reason="broker_unreachable").inc()
        logger.warning("analytics event lost, the broker is unreachable: %s", exc)
        return
    if length > limit:
        analytics_events_lost_total.labels(reason="buffer_full").inc(length - limit)


def events_drain(*, batch: int = 1000, max_batches: int = 100) -> int:
    """Write the buffered events to PostgreSQL, oldest first, ``batch`` rows per INSERT; how many were written.

    Safe to run concurrently (each batch is taken from Redis atomically). A batch the database refuses is
    put back for the next run.
    """
    client = broker_client()
    written = 0
    for _ in range(max_batches):
        with client.pipeline(transaction=True) as pipe:
            pipe.lrange(BUFFER_KEY, -batch, -1)
            pipe.ltrim(BUFFER_KEY, 0, -batch - 1)
            taken, _ = pipe.execute()
        if not taken:
            break
        try:
            events = [_event_from(raw) for raw in reversed(taken)]  # the list's tail is the oldest
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("dropping a batch of %s unreadable analytics events: %s", len(taken), exc)
            analytics_events_lost_total.labels(reason="unreadable").inc(len(taken))
            continue
        _forget_deleted(events)
        try:
            with transaction.atomic():
                Event.objects.bulk_create(events)
        except DatabaseError:
            client.rpush(BUFFER_KEY, *taken)  # back at the tail, in their order, for the next run
            raise
        written += len(events)
        if len(taken) < batch:
            break
    return written


def _event_from(raw: bytes) -> Event:
    data = json.loads(raw)
    return Event(
        kind=data["kind"],
        user_id=data["user_id"],
        pattern_id=data["pattern_id"],
        path=data["path"],
        query=data["query"],
        result_count=data["result_count"],
        metadata=data["metadata"],
        created_at=datetime.fromisoformat(data["created_at"]),
    )


def _forget_deleted(events: list[Event]) -> None:
    """A user or pattern deleted since the event was buffered becomes no one / nothing (as on_delete=SET_NULL)."""
    from catalog.models import Pattern, User

    user_ids = {event.user_id for event in events if event.user_id is not None}
    pattern_ids = {event.pattern_id for event in events if event.pattern_id is not None}
    users = set(User.objects.filter(pk__in=user_ids).values_list("pk", flat=True)) if user_ids else set()
    patterns = set(Pattern.objects.filter(pk__in=pattern_ids).values_list("pk", flat=True)) if pattern_ids else set()
    for event in events:
        if event.user_id is not None and event.user_id not in users:
            event.user_id = None
        if event.pattern_id is not None and event.pattern_id not in patterns:
            event.pattern_id = None
