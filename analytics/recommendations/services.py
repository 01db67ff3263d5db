"""Recompute the recommendation table: co-purchases with lift, co-views in sessions, complementary patterns.

One full recompute replaces every row of each kind in one transaction (readers see the old rows until it commits:
PostgreSQL's MVCC), so the task is idempotent and two overlapping runs leave the same table. Inputs:

- bought together: the baskets of paid orders (paid or partly refunded) of the last TESSERA_RECS_ORDER_DAYS;
  ``lift = n(a,b) · N / (n(a) · n(b))`` over N baskets, pairs bought together in at least
  TESSERA_RECS_MIN_SUPPORT orders. Lift, not the raw count: a best-seller that is in every basket is bought "with"
  everything, but no more than chance would have it.
- also viewed: pattern page views (``analytics.Event``) of the last TESSERA_RECS_VIEW_DAYS grouped by signed-in
  user, else by the visitor cookie, cut into sessions at a 30-minute gap (TESSERA_RECS_SESSION_GAP_MINUTES);
  item-item cosine over the session × pattern matrix (``n(a,b) / sqrt(n(a) · n(b))``), pairs co-viewed in at least
  TESSERA_RECS_MIN_COVIEWS sessions. A sparse product in scipy, no extra dependency (implicit's
  ItemItemRecommender computes the same cosine; it is not needed at this scale).
- complete the project: for each published pattern, published patterns of OTHER file families (a PDF sewing
  pattern → a PNG surface print; an SVG laser box → STL hinges) that share its subject (MiniLM text embeddings,
  preview look through the catalogue's "more like this" neighbours, shared subject tags), boosted when buyers
  bought the two together; the same creator's near-duplicates (the same design in another format) are left out.
- popular: paid sales of the last TESSERA_RECS_POPULAR_DAYS (then favourites, then newest): the cold-start
  fallback.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from scipy import sparse

from analytics.models import Event, Recommendation
from catalog import selectors as catalog_selectors
from catalog.models import FORMAT_FAMILIES, Pattern
from payments.models import OrderItem

logger = logging.getLogger(__name__)

# Order states whose lines count as bought (the catalogue's "best-selling" uses the same).
SOLD_STATUSES = catalog_selectors.SOLD_ORDER_STATUSES
# pg_advisory_xact_lock key: one writer of the table at a time.
_WRITE_LOCK = 0x7265_6373  # "recs"
# "Complete the project": how the similarities blend, and the floor a candidate needs.
TEXT_WEIGHT = 0.5
LOOK_WEIGHT = 0.3
TAG_WEIGHT = 0.2
BOUGHT_BOOST = 0.3
# The same creator's pattern at least this alike (text or look) is the same design in another format.
NEAR_DUPLICATE = 0.9
# Candidates per source read from the text similarities and the look neighbours before scoring.
TEXT_CANDIDATES = 100
LOOK_CANDIDATES = 50


@dataclass(frozen=True)
class Pair:
    source: int
    target: int
    score: float
    support: int = 0


def recommendations_recompute(*, now: Any = None) -> dict[str, Any]:
    """Recompute every kind of recommendation and swap the rows in; what it counted and how long it took."""
    now = now or timezone.now()
    started = time.perf_counter()
    published = set(Pattern.objects.filter(status=Pattern.Status.PUBLISHED).values_list("pk", flat=True))
    baskets = paid_baskets(since=now - timedelta(days=settings.TESSERA_RECS_ORDER_DAYS))
    bought = bought_together_pairs(
        baskets=baskets,
        min_support=settings.TESSERA_RECS_MIN_SUPPORT,
        min_lift=settings.TESSERA_RECS_MIN_LIFT,
    )
    sessions = view_sessions(
        since=now - timedelta(days=settings.TESSERA_RECS_VIEW_DAYS),
        gap=timedelta(minutes=settings.TESSERA_RECS_SESSION_GAP_MINUTES),
    )
    viewed = also_viewed_pairs(sessions=sessions, min_coviews=settings.TESSERA_RECS_MIN_COVIEWS)
    complete = complete_project_pairs(bought=bought)
    popular = popular_patterns(since=now - timedelta(days=settings.TESSERA_RECS_POPULAR_DAYS))
    per_source = settings.TESSERA_RECS_PER_PATTERN
    rows = [
        *_rows(Recommendation.Kind.BOUGHT_TOGETHER, bought, published, per_source),
        *_rows(Recommendation.Kind.ALSO_VIEWED, viewed, published, per_source),
        *_rows(Recommendation.Kind.COMPLETE_PROJECT, complete, published, per_source),
        *[
            Recommendation(kind=Recommendation.Kind.POPULAR, source=None, target_id=pk, score=score, rank=rank)
            for rank, (pk, score) in enumerate(popular)
        ],
    ]
    computed = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_WRITE_LOCK])
        Recommendation.objects.all().delete()
        Recommendation.objects.bulk_create(rows, batch_size=5000)
    stats = {
        "orders": len(baskets),
        "sessions": len(sessions),
        "rows": len(rows),
        "bought_together": sum(1 for row in rows if row.kind == Recommendation.Kind.BOUGHT_TOGETHER),
        "also_viewed": sum(1 for row in rows if row.kind == Recommendation.Kind.ALSO_VIEWED),
        "complete_project": sum(1 for row in rows if row.kind == Recommendation.Kind.COMPLETE_PROJECT),
        "popular": len(popular),
        "compute_seconds": round(computed - started, 3),
        "write_seconds": round(time.perf_counter() - computed, 3),
    }
    logger.info("recommendations recomputed: %s", stats)
    return stats


def _rows(kind: str, pairs: Iterable[Pair], published: set[int], per_source: int) -> list[Recommendation]:
    """The best ``per_source`` pairs of each source (score, then support, then id), published patterns only."""
    by_source: dict[int, list[Pair]] = defaultdict(list)
    for pair in pairs:
        if pair.source in published and pair.target in published and pair.source != pair.target:
            by_source[pair.source].append(pair)
    rows: list[Recommendation] = []
    for source in sorted(by_source):
        ranked = sorted(by_source[source], key=lambda p: (-p.score, -p.support, p.target))[:per_source]
        rows.extend(
            Recommendation(
                kind=kind,
                source_id=source,
                target_id=pair.target,
                score=round(pair.score, 6),
                support=pair.support,
                rank=rank,
            )
            for rank, pair in enumerate(ranked)
        )
    return rows


# --- Bought together ---


def paid_baskets(*, since: Any) -> list[list[int]]:
    """The distinct patterns of each paid order since ``since`` (free claims included: a claim is a choice too)."""
    baskets: dict[int, list[int]] = defaultdict(list)
    lines = (
        OrderItem.objects.filter(order__status__in=SOLD_STATUSES, order__paid_at__gte=since)
        .order_by("order_id", "pattern_id")
        .values_list("order_id", "pattern_id")
    )
    for order_id, pattern_id in lines.iterator(chunk_size=10_000):
        baskets[order_id].append(pattern_id)
    return list(baskets.values())


def _cooccurrence(groups: list[list[int]]) -> tuple[list[int], sparse.csr_matrix, np.ndarray]:
    """Item ids, the item × item co-occurrence counts (diagonal zeroed) and each item's own count."""
    items = sorted({pk for group in groups for pk in group})
    index = {pk: i for i, pk in enumerate(items)}
    rows = [g for g, group in enumerate(groups) for _ in set(group)]
    cols = [index[pk] for group in groups for pk in set(group)]
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(groups), len(items)))
    co = (matrix.T @ matrix).tocsr()
    counts = co.diagonal().copy()
    co.setdiag(0)
    co.eliminate_zeros()
    return items, co, counts


def bought_together_pairs(*, baskets: list[list[int]], min_support: int, min_lift: float = 1.0) -> list[Pair]:
    """Both directions of every pair bought together in at least ``min_support`` orders and more often than chance
    (lift above ``min_lift``), scored by lift."""
    if not baskets:
        return []
    items, co, counts = _cooccurrence(baskets)
    total = len(baskets)
    coo = co.tocoo()
    pairs = [
        Pair(source=items[i], target=items[j], score=float(c) * total / (counts[i] * counts[j]), support=int(c))
        for i, j, c in zip(coo.row, coo.col, coo.data, strict=True)
        if c >= min_support
    ]
    return [pair for pair in pairs if pair.score > min_lift]


# --- Also viewed ---


def view_sessions(*, since: Any, gap: timedelta) -> list[list[int]]:
    """Pattern page views since ``since`` as sessions: per signed-in user (else per visitor cookie), a new session
    after ``gap`` without a view. Views with neither (no cookie) cannot be tied to others and are left out."""
    views = (
        Event.objects.filter(kind=Event.Kind.PAGE_VIEW, pattern_id__isnull=False, created_at__gte=since)
        .exclude(user_id__isnull=True, visitor="")
        .values_list("user_id", "visitor", "pattern_id", "created_at")
    )
    by_person: dict[str, list[tuple[Any, int]]] = defaultdict(list)
    for user_id, visitor, pattern_id, at in views.iterator(chunk_size=20_000):
        by_person[f"u{user_id}" if user_id is not None else f"v{visitor}"].append((at, pattern_id))
    sessions: list[list[int]] = []
    for person_views in by_person.values():
        person_views.sort()
        current: list[int] = []
        last = None
        for at, pattern_id in person_views:
            if last is not None and at - last > gap:
                sessions.append(current)
                current = []
            current.append(pattern_id)
            last = at
        sessions.append(current)
    return sessions


def also_viewed_pairs(*, sessions: list[list[int]], min_coviews: int) -> list[Pair]:
    """Item-item cosine over sessions: both directions of pairs viewed in at least ``min_coviews`` sessions."""
    if not sessions:
        return []
    items, co, counts = _cooccurrence(sessions)
    coo = co.tocoo()
    return [
        Pair(source=items[i], target=items[j], score=float(c) / math.sqrt(counts[i] * counts[j]), support=int(c))
        for i, j, c in zip(coo.row, coo.col, coo.data, strict=True)
        if c >= min_coviews
    ]


# --- Complete the project ---


def complete_project_pairs(*, bought: list[Pair], looks: bool | None = None) -> list[Pair]:
    """Complementary published patterns of other families for every published pattern (see the module)."""
    profiles = catalog_selectors.pattern_published_profiles()
    if not profiles:
        return []
    ids = [pk for pk, _, _ in profiles]
    position = {pk: i for i, pk in enumerate(ids)}
    creators = np.array([creator for _, creator, _ in profiles])
    families = catalog_selectors.pattern_families(pattern_ids=ids)
    bits = {family: 1 << n for n, family in enumerate(sorted(set(FORMAT_FAMILIES.values())))}
    masks = np.array([sum(bits[f] for f in families.get(pk, ()) if f in bits) for pk in ids], dtype=np.int64)
    embeddings = np.zeros((len(ids), 384), dtype=np.float32)
    for i, (_, _, vector) in enumerate(profiles):
        if vector is not None:
            v = np.asarray(vector, dtype=np.float32)
            embeddings[i] = v / (np.linalg.norm(v) or 1.0)
    tags: dict[int, set[int]] = defaultdict(set)
    tagged: dict[int, set[int]] = defaultdict(set)
    for pattern_id, tag_id in catalog_selectors.pattern_subject_tag_pairs():
        if pattern_id in position:
            tags[pattern_id].add(tag_id)
            tagged[tag_id].add(pattern_id)
    bought_with = {(pair.source, pair.target) for pair in bought}
    use_looks = settings.TESSERA_RECS_COMPLETE_LOOKS if looks is None else looks
    floor = settings.TESSERA_RECS_COMPLETE_FLOOR
    pairs: list[Pair] = []
    block = 512
    for start in range(0, len(ids), block):
        text_block = embeddings[start : start + block] @ embeddings.T
        for offset, text in enumerate(text_block):
            i = start + offset
            source = ids[i]
            own = masks[i]
            if not own:
                continue
            other = (masks != 0) & ((masks & own) == 0)  # only other families
            candidates: set[int] = set()
            by_text = np.where(other & (text > 0))[0]
            if len(by_text):
                top = by_text[np.argsort(-text[by_text], kind="stable")[:TEXT_CANDIDATES]]
                candidates.update(int(c) for c in top)
            for tag_id in tags.get(source, ()):
                candidates.update(position[pk] for pk in tagged[tag_id] if other[position[pk]])
            look: dict[int, float] = {}
            if use_looks:
                for pk, similarity in catalog_selectors.pattern_look_neighbours(
                    pattern_id=source, limit=LOOK_CANDIDATES
                ):
                    if pk in position and other[position[pk]]:
                        look[position[pk]] = similarity
                        candidates.add(position[pk])
            for j in candidates:
                target = ids[j]
                text_similarity = float(text[j])
                look_similarity = look.get(j, 0.0)
                if creators[j] == creators[i] and max(text_similarity, look_similarity) >= NEAR_DUPLICATE:
                    continue  # the same design in another format, by the same creator
                shared = tags.get(source, set()) & tags.get(target, set())
                jaccard = len(shared) / len(tags[source] | tags[target]) if shared else 0.0
                score = TEXT_WEIGHT * text_similarity + LOOK_WEIGHT * look_similarity + TAG_WEIGHT * jaccard
                if (source, target) in bought_with:
                    score += BOUGHT_BOOST
                if score >= floor:
                    pairs.append(Pair(source=source, target=target, score=score))
    return pairs


# --- Popular ---


def popular_patterns(*, since: Any) -> list[tuple[int, float]]:
    """(id, paid sales since ``since``) of the most popular published patterns: best-selling, then most
    favourited, then newest; TESSERA_RECS_POPULAR_LIMIT of them."""
    limit = settings.TESSERA_RECS_POPULAR_LIMIT
    sales = dict(
        OrderItem.objects.filter(
            order__status__in=SOLD_STATUSES,
            order__paid_at__gte=since,
            already_owned=False,
            pattern__status=Pattern.Status.PUBLISHED,
        )
        .values_list("pattern_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    best = sorted(sales, key=lambda pk: (-sales[pk], pk))[:limit]
    if len(best) < limit:
        rest = (
            Pattern.objects.filter(status=Pattern.Status.PUBLISHED)
            .exclude(pk__in=best)
            .order_by("-favourite_count", "-published_at", "-id")
            .values_list("pk", flat=True)[: limit - len(best)]
        )
        best += list(rest)
    return [(pk, float(sales.get(pk, 0))) for pk in best]
