"""Writes for analytics events.

Purchases and downloads are written from the outbox after their ``order.paid`` / ``download.served`` event
committed (``analytics.handlers``, ``events_store``), with the time of the event; a search request ("tell us what
you wanted") arrives the same way as the ``search.requested`` domain event. Page views and searches, one per
catalogue request, come through the kernel's tracking path (``marketplace.tracking``: an in-process queue, a Redis
list) and are written to PostgreSQL in batches by the ``analytics.tasks.events_drain`` beat task
(``events_drain``), so that no page waits on an INSERT, with the time of the request as ``created_at``. Best
effort: what tracking loses is counted in ``tessera_analytics_events_lost_total{reason}`` (see
marketplace/tracking.py).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q

from analytics.models import Event
from catalog.models import Pattern, User
from marketplace import tracking
from marketplace.broker import broker_client
from marketplace.metrics import analytics_events_lost_total

logger = logging.getLogger(__name__)

BUFFER_KEY = tracking.BUFFER_KEY


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
    """An event's column values."""
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


def events_drain(*, batch: int = 1000, max_batches: int = 100) -> int:
    """Write the tracked page views and searches to PostgreSQL, oldest first, ``batch`` rows per INSERT; how many
    were written. What this process itself has queued is sent to Redis first (a test's requests, a task's).

    Safe to run concurrently (each batch is taken from Redis atomically). A batch the database refuses is
    put back for the next run.
    """
    tracking.flush()
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
            # The list's tail is the oldest.
            events = [row for raw in reversed(taken) for row in _events_from(raw)]
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


def _events_from(raw: bytes) -> list[Event]:
    data = json.loads(raw)
    if "type" in data:
        return event_rows(tracking.event_from_wire(raw))
    # An entry buffered by the code before marketplace.tracking (still in Redis across the deploy): its columns.
    return [
        Event(
            kind=data["kind"],
            user_id=data["user_id"],
            pattern_id=data["pattern_id"],
            path=data["path"],
            query=data["query"],
            result_count=data["result_count"],
            metadata=data["metadata"],
            created_at=datetime.fromisoformat(data["created_at"]),
        )
    ]


def event_rows(event: tracking.TrackingEvent) -> list[Event]:
    """The analytics rows of a tracked event (not saved): one, or one per pattern a search page showed."""
    if isinstance(event, tracking.SearchImpressions):
        return [
            Event(kind=Event.Kind.IMPRESSION, pattern_id=pattern_id, query=event.query[:255], **_context(event))
            for pattern_id in dict.fromkeys(event.pattern_ids)
        ]
    rows = [event_row(event)]
    if isinstance(event, tracking.PageViewed) and event.source == "search" and event.source_query and event.pattern_id:
        # A click on a search result, as demand insights read it (kind "search_click", its query and visitor);
        # the insights rollups count the page view itself (source "search"), never this row.
        rows.append(
            Event(
                kind=Event.Kind.SEARCH_CLICK,
                pattern_id=event.pattern_id,
                query=event.source_query[:255],
                **_context(event),
            )
        )
    return rows


def _context(event: tracking.TrackingEvent) -> dict[str, Any]:
    """The columns every tracked row has: who, which visitor, from where, when."""
    return {
        "user_id": event.user_id,
        "visitor": event.visitor[:32],
        "path": event.path[:255],
        "source": event.source[:100],
        "utm_source": event.utm_source[:100],
        "utm_medium": event.utm_medium[:100],
        "utm_campaign": event.utm_campaign[:100],
        "created_at": event.at,
    }


def event_row(event: tracking.TrackingEvent) -> Event:
    """The analytics row of a tracked page view, search, preview view or cart addition (not saved)."""
    if isinstance(event, tracking.SearchPerformed):
        return Event(
            kind=Event.Kind.SEARCH,
            query=event.query[:255],
            result_count=event.result_count,
            metadata={"low_results": event.low_results, "did_you_mean": event.did_you_mean}
            | ({"category": event.category} if event.category else {}),
            **_context(event),
        )
    if isinstance(event, tracking.PageViewed):
        return Event(
            kind=Event.Kind.PAGE_VIEW,
            pattern_id=event.pattern_id,
            query=event.source_query[:255],
            metadata={"shop": event.shop_creator_id} if event.shop_creator_id is not None else {},
            **_context(event),
        )
    if isinstance(event, tracking.PreviewViewed):
        return Event(
            kind=Event.Kind.PREVIEW_VIEW, pattern_id=event.pattern_id, item=event.preview_id, **_context(event)
        )
    if isinstance(event, tracking.CartAdded):
        return Event(kind=Event.Kind.ADD_TO_CART, pattern_id=event.pattern_id, **_context(event))
    raise TypeError(f"no analytics row for {event.type}")


def _forget_deleted(events: list[Event]) -> None:
    """A user or pattern deleted since the event was buffered becomes no one / nothing (as on_delete=SET_NULL)."""
    user_ids = {event.user_id for event in events if event.user_id is not None}
    pattern_ids = {event.pattern_id for event in events if event.pattern_id is not None}
    users = set(User.objects.filter(pk__in=user_ids).values_list("pk", flat=True)) if user_ids else set()
    patterns = set(Pattern.objects.filter(pk__in=pattern_ids).values_list("pk", flat=True)) if pattern_ids else set()
    for event in events:
        if event.user_id is not None and event.user_id not in users:
            event.user_id = None
        if event.pattern_id is not None and event.pattern_id not in patterns:
            event.pattern_id = None


def purchase_attribution(*, buyer_id: int, pattern_ids: list[int], at: datetime) -> dict[int, dict[str, Any]]:
    """What led ``buyer_id`` to buy each pattern, from their tracked events of the last
    TESSERA_ROLLUP_ATTRIBUTION_DAYS before ``at``: ``source`` and ``query`` of their last outside-referred page view
    of it (else the last one; "direct" with none), the UTM tags of their last tagged view of it, and the
    ``previews`` of it they saw. Their events are those signed in as them, or under a visitor id they ever used
    signed in. Read once, when the purchase is recorded (``analytics.handlers.purchases_record``)."""
    since = at - timedelta(days=settings.TESSERA_ROLLUP_ATTRIBUTION_DAYS)
    linked = list(
        Event.objects.filter(user_id=buyer_id).exclude(visitor="").values_list("visitor", flat=True).distinct()[:100]
    )
    mine = Q(user_id=buyer_id) | Q(visitor__in=linked) if linked else Q(user_id=buyer_id)
    rows = (
        Event.objects.filter(mine, pattern_id__in=pattern_ids, created_at__gt=since, created_at__lte=at)
        .filter(kind__in=[Event.Kind.PAGE_VIEW, Event.Kind.PREVIEW_VIEW])
        .order_by("created_at", "pk")
        .values_list("kind", "pattern_id", "source", "query", "utm_source", "utm_medium", "utm_campaign", "item")
    )
    found: dict[int, dict[str, Any]] = {
        pid: {"source": "direct", "query": "", "utm_source": "", "utm_medium": "", "utm_campaign": "", "previews": []}
        for pid in pattern_ids
    }
    outside: dict[int, bool] = {}
    for kind, pattern_id, source, query, utm_source, utm_medium, utm_campaign, item in rows:
        entry = found[pattern_id]
        if kind == Event.Kind.PREVIEW_VIEW:
            if item is not None and item not in entry["previews"]:
                entry["previews"].append(item)
            continue
        is_outside = source not in ("internal", "")
        if is_outside or not outside.get(pattern_id):  # the last outside-referred view wins over internal ones
            entry["source"], entry["query"] = source or "direct", query if source == "search" else ""
            outside[pattern_id] = outside.get(pattern_id, False) or is_outside
        if utm_source or utm_medium or utm_campaign:
            entry["utm_source"], entry["utm_medium"], entry["utm_campaign"] = utm_source, utm_medium, utm_campaign
    return found
