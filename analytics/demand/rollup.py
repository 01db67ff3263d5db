"""The per-day demand rollups, rebuilt from the raw search and click events by a periodic task.

A day is rebuilt whole (its rows deleted and written again in one transaction), so the task is idempotent and a
click that arrives late (up to ``TESSERA_DEMAND_CLICK_WINDOW_MINUTES`` after the search, across midnight too) is
counted at the next run: the beat task rebuilds today and yesterday. Raw events may be pruned afterwards; the
rollups keep what the report needs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pgvector.django import CosineDistance

from analytics.demand.normalise import term_key, wording
from analytics.models import DemandDay, DemandSearcher, DemandTerm, Event
from catalog.models import Pattern
from catalog.selectors import SEMANTIC_CLOSE_FLOOR

logger = logging.getLogger(__name__)

IMAGE_QUERY = "[image]"  # catalog.tracking records a search by image under this query: not words anyone typed


def searcher_key(*, user_id: int | None, visitor: str, event_id: int) -> str:
    """Who searched, as a keyed hash: the signed-in user, else the visitor cookie, else the event itself (a request
    without the cookie counts as a searcher of its own). The rollups never hold a visitor id or user id in clear."""
    if user_id is not None:
        raw = f"u:{user_id}"
    elif visitor:
        raw = f"v:{visitor}"
    else:
        raw = f"e:{event_id}"
    secret = f"tessera.demand:{settings.SECRET_KEY}".encode()
    return hmac.new(secret, raw.encode(), hashlib.sha256).hexdigest()[:32]


def _clicker(*, user_id: int | None, visitor: str) -> str:
    """Who a click or search came from, to match a search with the clicks that followed it."""
    if visitor:
        return f"v:{visitor}"
    return f"u:{user_id}" if user_id is not None else ""


@dataclass
class _Cell:
    searches: int = 0
    unmet: int = 0
    results: int = 0
    last_at: datetime | None = None


@dataclass
class _Day:
    cells: dict[tuple[str, str, str], _Cell] = field(default_factory=lambda: defaultdict(_Cell))
    searchers: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))


def demand_rollup(*, days: int = 2, today: date | None = None) -> int:
    """Rebuild the rollups of the last ``days`` days up to ``today`` (UTC); how many day rows were written."""
    today = today or timezone.now().astimezone(UTC).date()
    written = 0
    for offset in range(days - 1, -1, -1):
        written += demand_rollup_day(day=today - timedelta(days=offset))
    return written


def demand_rollup_day(*, day: date) -> int:
    """Rebuild one day's rollups from its searches and the clicks that followed them (idempotent)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    window = timedelta(minutes=settings.TESSERA_DEMAND_CLICK_WINDOW_MINUTES)
    clicks: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for user_id, visitor, query, at in (
        Event.objects.filter(kind=Event.Kind.SEARCH_CLICK, created_at__gte=start, created_at__lt=end + window)
        .values_list("user_id", "visitor", "query", "created_at")
        .iterator(chunk_size=5000)
    ):
        who = _clicker(user_id=user_id, visitor=visitor)
        if who:
            clicks[(who, term_key(query))].append(at)
    for times in clicks.values():
        times.sort()

    rolled = _Day()
    searches = (
        Event.objects.filter(kind=Event.Kind.SEARCH, created_at__gte=start, created_at__lt=end)
        .exclude(query="")
        .exclude(query=IMAGE_QUERY)
        .values_list("pk", "user_id", "visitor", "query", "result_count", "metadata", "created_at")
        .order_by("created_at", "pk")
    )
    for pk, user_id, visitor, query, result_count, metadata, at in searches.iterator(chunk_size=5000):
        key = term_key(query)
        if not key:
            continue
        category = str((metadata or {}).get("category", ""))[:80]
        times = clicks.get((_clicker(user_id=user_id, visitor=visitor), key), [])
        position = bisect_left(times, at)
        clicked = position < len(times) and times[position] <= at + window
        unmet = result_count == 0 or not clicked
        cell = rolled.cells[(key, wording(query)[:255], category)]
        cell.searches += 1
        cell.unmet += int(unmet)
        cell.results = result_count or 0  # ordered by time: the day's last search's
        if unmet:
            rolled.searchers[(key, category)].add(searcher_key(user_id=user_id, visitor=visitor, event_id=pk))

    terms = terms_for(keys={key for key, _, _ in rolled.cells})
    with transaction.atomic():
        DemandDay.objects.filter(day=day).delete()
        DemandSearcher.objects.filter(day=day).delete()
        DemandDay.objects.bulk_create(
            [
                DemandDay(
                    day=day,
                    term_id=terms[key],
                    wording=text,
                    category=category,
                    searches=cell.searches,
                    unmet=cell.unmet,
                    results=cell.results,
                )
                for (key, text, category), cell in rolled.cells.items()
            ],
            batch_size=2000,
        )
        DemandSearcher.objects.bulk_create(
            [
                DemandSearcher(day=day, term_id=terms[key], category=category, searcher=searcher)
                for (key, category), searchers in rolled.searchers.items()
                for searcher in searchers
            ],
            batch_size=5000,
        )
    logger.info("demand rollup %s: %s terms, %s rows", day, len(terms), len(rolled.cells))
    return len(rolled.cells)


def terms_for(*, keys: set[str]) -> dict[str, int]:
    """The ids of the terms ``keys``, created (and grouped by meaning) where new."""
    if not keys:
        return {}
    DemandTerm.objects.bulk_create([DemandTerm(key=key) for key in sorted(keys)], ignore_conflicts=True)
    terms_group()
    return dict(DemandTerm.objects.filter(key__in=keys).values_list("key", "pk"))


def terms_group(*, limit: int = 5000) -> int:
    """Embed the terms not embedded yet (MiniLM, catalog's search space) and put each in the group of its nearest
    embedded term when that is at least ``TESSERA_DEMAND_GROUP_SIMILARITY`` alike (cosine), else in a group of its
    own: single-linkage agglomerative grouping, one term at a time, so a group never changes once formed and the
    rollups of past days stay valid. Without the model (not installed, failing) a term is a group of its own and
    is embedded at a later run. How many terms were embedded."""
    pending = list(DemandTerm.objects.filter(embedding__isnull=True).order_by("pk")[:limit])
    if not pending:
        return 0
    try:
        from catalog.embeddings import embed_texts

        vectors = embed_texts([term.key for term in pending])
    except (ImportError, OSError, RuntimeError):
        logger.exception("demand: no text embeddings; %s terms stay ungrouped for now", len(pending))
        DemandTerm.objects.filter(pk__in=[t.pk for t in pending], group__isnull=True).update(group_id=F("pk"))
        return 0
    similarity = settings.TESSERA_DEMAND_GROUP_SIMILARITY
    for term, vector in zip(pending, vectors, strict=True):
        nearest = (
            DemandTerm.objects.filter(embedding__isnull=False)
            .exclude(pk=term.pk)
            .annotate(distance=CosineDistance("embedding", vector))
            .filter(distance__lte=1 - similarity)
            .order_by("distance", "pk")
            .values_list("group_id", "pk")
            .first()
        )
        term.embedding = vector
        term.group_id = (nearest[0] or nearest[1]) if nearest else term.pk
        term.category = nearest_category(vector)
        term.save(update_fields=["embedding", "group", "category"])
    return len(pending)


def nearest_category(vector: Any, *, neighbours: int = 5) -> str:
    """The most common category among the published patterns nearest to ``vector`` that the search page would
    offer as close ideas (cosine at least catalog's SEMANTIC_CLOSE_FLOOR); "" when none is that close."""
    slugs = list(
        Pattern.objects.filter(status=Pattern.Status.PUBLISHED, text_embedding__isnull=False, category__isnull=False)
        .annotate(distance=CosineDistance("text_embedding", vector))
        .filter(distance__lte=1 - SEMANTIC_CLOSE_FLOOR)
        .order_by("distance", "pk")
        .values_list("category__slug", flat=True)[:neighbours]
    )
    if not slugs:
        return ""
    counts = Counter(slugs)
    return max(slugs, key=lambda slug: counts[slug])  # the nearest among equally common ones
