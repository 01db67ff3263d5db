"""Page-view and search tracking: high volume, best effort, never in the way of the request.

A catalogue request calls ``track(PageViewed(...))`` or ``track(SearchPerformed(...))``. That is an append to a
bounded queue in this process (a few microseconds, no I/O, no lock held across I/O); a daemon thread of the process
sends what is queued to a Redis list in batches (one round trip per batch) every TESSERA_TRACKING_FLUSH_SECONDS,
sooner when a batch is full. Analytics (``analytics.tasks.events_drain``, on the beat schedule) turns the list into
rows. Domain events (``marketplace.events``) are the other path: a person's submission or a change of state that
must not be lost goes there, in the transaction of its change.

What it guarantees: the request never waits on Redis or PostgreSQL for tracking; an event that reaches Redis is
written once (``events_drain`` takes each batch atomically and puts it back if the database refuses it).
What it loses, each counted in ``tessera_analytics_events_lost_total{reason}``:

- ``queue_full``: this process queued TESSERA_TRACKING_QUEUE_MAX events its thread could not send (Redis slow or
  down); the newest are refused, the request goes on;
- ``broker_unreachable``: a batch the thread could not hand to Redis (an outage loses at most what was queued
  during it, bounded by the queue);
- ``buffer_full``: the Redis list already held TESSERA_EVENTS_BUFFER_MAX events (the drain is behind); the oldest go;
- ``process_exit``: events still queued when the process ends and the last flush could not send them (a process
  killed with SIGKILL loses its queue, up to one flush interval of events, uncounted);
- ``unreadable``: an entry ``events_drain`` could not decode.

Fork-safe: a forked child (gunicorn worker, Celery prefork child) starts with an empty queue and its own thread
(started by its first ``track``), so the parent's queued events are never sent twice. ``flush()`` sends what is
queued now, synchronously (tests, benches, shutdown).
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from marketplace.broker import broker_client
from marketplace.metrics import analytics_events_lost_total

logger = logging.getLogger(__name__)

# The list analytics drains (its name from before this module, so a deploy drains what the old code buffered).
BUFFER_KEY = "analytics:event-buffer"
# Events per LPUSH (one pipeline round trip each).
SEND_BATCH = 1000

TRACKING_TYPES: dict[str, type[TrackingEvent]] = {}


def user_id_of(user: Any) -> int | None:
    """The id of a signed-in user; None for an anonymous visitor (or none)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return int(user.pk)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrackingEvent:
    """One tracked request: who (a user id or None), which address, when (the time of the request)."""

    type: ClassVar[str] = ""

    user_id: int | None = None
    visitor: str = ""  # the first-party visitor cookie's id ("" none: counts as a visitor of its own)
    path: str = ""
    # Where the visit came from (``request_context``): the Referer's host without "www.", "search" (a Tessera
    # search page; ``source_query`` its words), "internal" (another Tessera page) or "direct"; "" not known.
    source: str = ""
    source_query: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    at: datetime = dataclasses.field(default_factory=timezone.now)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("type")
        if event_type:
            TRACKING_TYPES[event_type] = cls

    def to_wire(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["at"] = self.at.isoformat()
        data["type"] = self.type
        return data


@dataclasses.dataclass(frozen=True, kw_only=True)
class PageViewed(TrackingEvent):
    """A catalogue page was shown: home, a category, a pattern page (``pattern_id``)."""

    type = "page.viewed"
    pattern_id: int | None = None
    shop_creator_id: int | None = None  # a creator's shop page (/creators/<username>/)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchPerformed(TrackingEvent):
    """A search by words (or ``query="[image]"`` by image), from the search page or the API alike.

    ``low_results``: it found fewer than catalog's FEW_RESULTS; ``did_you_mean``: the correction offered ("" none);
    ``category``: the slug of the category the search was narrowed to ("" none; the demand insights filter by it).
    """

    type = "search.performed"
    query: str
    result_count: int | None = None
    low_results: bool = False
    did_you_mean: str = ""
    category: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchImpressions(TrackingEvent):
    """The results a search page showed (the beacon): one impression per pattern, with the query."""

    type = "search.impressions"
    query: str
    pattern_ids: list[int]


@dataclasses.dataclass(frozen=True, kw_only=True)
class PreviewViewed(TrackingEvent):
    """A preview picture of a pattern came into view in its gallery (the beacon)."""

    type = "preview.viewed"
    pattern_id: int
    preview_id: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class CartAdded(TrackingEvent):
    """A pattern was put in a cart."""

    type = "cart.added"
    pattern_id: int


def event_from_wire(raw: bytes | str) -> TrackingEvent:
    """The typed event an entry of the Redis list holds. Raises ValueError, KeyError or TypeError if unreadable."""
    data = json.loads(raw)
    cls = TRACKING_TYPES[data.pop("type")]
    data["at"] = datetime.fromisoformat(data["at"])
    return cls(**data)


class _Queue:
    """This process's queue and the thread that sends it (one per process: rebuilt in a forked child)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.events: collections.deque[TrackingEvent] = collections.deque()
        self.send_lock = threading.Lock()  # one sender at a time, so batches reach Redis in their order
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.start_lock = threading.Lock()

    def ensure_thread(self) -> None:
        with self.start_lock:
            if self.thread is not None:
                return
            self.thread = threading.Thread(target=_flush_forever, args=(self,), name="tracking-flush", daemon=True)
            self.thread.start()


_queue = _Queue()


def _reset_after_fork() -> None:
    global _queue
    _queue = _Queue()


os.register_at_fork(after_in_child=_reset_after_fork)


def track(event: TrackingEvent) -> None:
    """Queue ``event`` for Redis; never blocks, never raises on a broker problem (loss is counted)."""
    queue = _queue
    if queue.thread is None:
        queue.ensure_thread()
    events = queue.events
    if len(events) >= settings.TESSERA_TRACKING_QUEUE_MAX:
        analytics_events_lost_total.labels(reason="queue_full").inc()
        return
    events.append(event)
    if len(events) >= SEND_BATCH:
        queue.wake.set()


def flush() -> int:
    """Send every event queued in this process now; how many reached Redis (the rest are counted as lost)."""
    return _send_queued(_queue)


def discard() -> int:
    """Drop what this process has queued, uncounted (tests start clean); how many were dropped."""
    queue = _queue
    with queue.send_lock:
        dropped = len(queue.events)
        queue.events.clear()
    return dropped


def queued() -> int:
    """Events waiting in this process's queue."""
    return len(_queue.events)


def _flush_forever(queue: _Queue) -> None:
    while True:
        queue.wake.wait(max(settings.TESSERA_TRACKING_FLUSH_SECONDS, 0.01))
        queue.wake.clear()
        try:
            _send_queued(queue)
        except Exception:  # noqa: BLE001 - the thread must outlive any one bad batch
            logger.exception("tracking: sending a batch failed")


def _send_queued(queue: _Queue) -> int:
    sent = 0
    with queue.send_lock:
        while queue.events:
            batch: list[TrackingEvent] = []
            while queue.events and len(batch) < SEND_BATCH:
                batch.append(queue.events.popleft())
            sent += _send(batch)
    return sent


def _send(batch: list[TrackingEvent]) -> int:
    payloads = [json.dumps(event.to_wire()) for event in batch]
    limit = settings.TESSERA_EVENTS_BUFFER_MAX
    try:
        client = broker_client(timeout=settings.TESSERA_TRACKING_BROKER_TIMEOUT)
        with client.pipeline(transaction=False) as pipe:
            pipe.lpush(BUFFER_KEY, *payloads)
            pipe.ltrim(BUFFER_KEY, 0, limit - 1)  # the newest stay; a full list loses its oldest
            length, _ = pipe.execute()
    except (redis.RedisError, OSError) as exc:
        analytics_events_lost_total.labels(reason="broker_unreachable").inc(len(batch))
        logger.warning("tracking: %s events lost, the broker is unreachable: %s", len(batch), exc)
        return 0
    if length > limit:
        analytics_events_lost_total.labels(reason="buffer_full").inc(min(length - limit, len(batch)))
    return len(batch)


# --- Who and where from: the visitor cookie, bots, staff, the source of a visit (issue 13) -----------------------

VISITOR_COOKIE = "tessera_vid"
_VISITOR_RE = re.compile(r"^[0-9a-f]{32}$")
# Known crawlers and link previewers (user agents); their requests are not tracked at all.
_BOT_RE = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|archiver|facebookexternalhit|bingpreview|mediapartners|embedly|"
    r"pinterest|quora link preview|whatsapp|skypeuripreview|lighthouse|pingdom|uptimerobot|python-urllib|"
    r"^curl/|^wget/",
    re.IGNORECASE,
)
# Tessera pages whose ``q`` is a search: a visit from one of them has the source "search".
SEARCH_PATH_PREFIXES = ("/search/", "/c/", "/creators/")
_SOURCE_MAX = 100


def is_bot(user_agent: str) -> bool:
    """A known crawler's or link previewer's user agent."""
    return bool(user_agent) and _BOT_RE.search(user_agent) is not None


def refuses_tracking(request: HttpRequest) -> bool:
    """Do-Not-Track (``DNT: 1``) or Global Privacy Control (``Sec-GPC: 1``): no visitor cookie is set or read."""
    return request.META.get("HTTP_DNT", "").strip() == "1" or request.META.get("HTTP_SEC_GPC", "").strip() == "1"


def visitor_of(request: HttpRequest) -> str:
    """This request's visitor id: its cookie's, or a new random one the response will set; "" for a request
    that refuses tracking (it counts as a visitor of its own)."""
    cached = getattr(request, "_tessera_visitor", None)
    if cached is not None:
        return str(cached)
    visitor = ""
    if not refuses_tracking(request):
        visitor = request.COOKIES.get(VISITOR_COOKIE, "")
        if not _VISITOR_RE.match(visitor):
            visitor = secrets.token_hex(16)
            request._tessera_visitor_new = True  # type: ignore[attr-defined]
    request._tessera_visitor = visitor  # type: ignore[attr-defined]
    return visitor


def source_of(request: HttpRequest) -> tuple[str, str]:
    """(source, search words) of a visit, from its Referer: ("reddit.com", ""), ("search", "modular desk"),
    ("internal", "") for another Tessera page, ("direct", "") when there is none."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer:
        return "direct", ""
    try:
        parts = urlsplit(referer)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "direct", ""
    if not host:
        return "direct", ""
    try:
        own = urlsplit("//" + (request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME") or "")).hostname
    except ValueError:
        own = None
    if own and host == own:
        words = " ".join(parse_qs(parts.query).get("q", [""])[0].split())[:255]
        if words and parts.path.startswith(SEARCH_PATH_PREFIXES):
            return "search", words
        return "internal", ""
    host = host.removeprefix("www.")
    return host[:_SOURCE_MAX], ""


def request_context(request: HttpRequest, *, owner_id: int | None = None) -> dict[str, Any] | None:
    """The visitor and source fields of a tracked event from ``request``; None when the request is not tracked
    at all: a known crawler, a staff member, or the creator (``owner_id``) on their own pattern or shop."""
    if is_bot(request.META.get("HTTP_USER_AGENT", "")):
        return None
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        if getattr(user, "is_staff", False) or (owner_id is not None and user.pk == owner_id):
            return None
    source, words = source_of(request)
    get = request.GET
    return {
        "visitor": visitor_of(request),
        "source": source,
        "source_query": words,
        "utm_source": get.get("utm_source", "").strip()[:_SOURCE_MAX],
        "utm_medium": get.get("utm_medium", "").strip()[:_SOURCE_MAX],
        "utm_campaign": get.get("utm_campaign", "").strip()[:_SOURCE_MAX],
    }


def track_request(request: HttpRequest, event: TrackingEvent, *, owner_id: int | None = None) -> TrackingEvent | None:
    """Track ``event`` as done by ``request``'s visitor, with where they came from; the event tracked, or None
    when the request is not tracked (see ``request_context``)."""
    context = request_context(request, owner_id=owner_id)
    if context is None:
        return None
    event = dataclasses.replace(event, **context)
    track(event)
    return event


class VisitorCookieMiddleware:
    """Sets the first-party visitor cookie on a response whose request was given a new visitor id (a random id,
    no IP address, nothing personal). Sits outside the page cache, so a stored page never carries a cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "_tessera_visitor_new", False):
            response.set_cookie(
                VISITOR_COOKIE,
                request._tessera_visitor,  # type: ignore[attr-defined]
                max_age=settings.TESSERA_VISITOR_COOKIE_DAYS * 86400,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def shutdown() -> None:
    """Send what is still queued as the process ends; what cannot be sent is counted as ``process_exit``."""
    queue = _queue
    if queue.pid != os.getpid() or not queue.events:
        return
    try:
        _send_queued(queue)
    except Exception:  # noqa: BLE001 - the process is ending; count and go
        logger.exception("tracking: the last flush failed")
    left = len(queue.events)
    if left:
        analytics_events_lost_total.labels(reason="process_exit").inc(left)
        queue.events.clear()


atexit.register(shutdown)
