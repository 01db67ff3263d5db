"""Reads of the precomputed recommendations for pages and the API: a constant number of queries each.

Every read joins the target pattern and keeps only published ones (a pattern unpublished or deleted since the
last recompute never shows), and the cards come from the catalogue's own selector (``pattern_cards``, five queries
however many). Personal reads ("for you", the cart) leave out the viewer's own patterns and what they hold.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import CharField, Q, QuerySet, Value
from django.utils import timezone

from analytics.models import Event, Recommendation
from catalog import selectors as catalog_selectors
from catalog.models import Pattern
from community.models import Favourite
from delivery.models import Entitlement
from marketplace.page_cache import catalogue_fragment_key

Kind = Recommendation.Kind

# How much each of a buyer's signals counts towards "for you", and each kind of neighbour.
SIGNAL_WEIGHTS = {"owned": 3.0, "favourite": 2.0, "viewed": 1.0}
KIND_WEIGHTS: dict[str, float] = {Kind.BOUGHT_TOGETHER: 1.0, Kind.ALSO_VIEWED: 0.8, Kind.COMPLETE_PROJECT: 0.6}
# The most recent pattern views of a signed-in buyer that "for you" starts from.
RECENT_VIEWS = 30


@dataclass
class Section:
    """One row of recommendation cards on a page. ``fallback``: not from this pattern's or buyer's own data
    (popularity for cold start), and ``note`` says so."""

    key: str
    title: str
    note: str = ""
    fallback: bool = False
    ids: list[int] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)


def _published_targets() -> QuerySet[Recommendation]:
    return Recommendation.objects.filter(target__status=Pattern.Status.PUBLISHED)


def _fill(sections: list[Section], *, limit: int) -> list[Section]:
    """Each pattern in the first section that has it, ``limit`` per section; the cards of all in five queries;
    sections left empty dropped."""
    seen: set[int] = set()
    # A pattern in both a section of its own data and a fallback shows in the former.
    for section in sorted(sections, key=lambda section: section.fallback):
        section.ids = [pk for pk in dict.fromkeys(section.ids) if pk not in seen][:limit]
        seen.update(section.ids)
    cards = {p.pk: p for p in catalog_selectors.pattern_cards(pattern_ids=list(seen))} if seen else {}
    for section in sections:
        section.patterns = [cards[pk] for pk in section.ids if pk in cards]
    return [section for section in sections if section.patterns]


def pattern_sections(*, pattern_id: int, limit: int = 8) -> list[Section]:
    """The pattern page's "Frequently bought together" (or, before any co-purchase, "Popular right now"), "Buyers
    also viewed" and "Complete the project": one query, then five for the cards when there are any. The same for
    every visitor."""
    rows = (
        _published_targets()
        .filter(
            Q(source_id=pattern_id, kind__in=[Kind.BOUGHT_TOGETHER, Kind.ALSO_VIEWED, Kind.COMPLETE_PROJECT])
            | Q(source__isnull=True, kind=Kind.POPULAR, rank__lte=limit)
        )
        .exclude(target_id=pattern_id)
        .order_by("kind", "rank")
        .values_list("kind", "target_id")
    )
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, target_id in rows:
        by_kind[kind].append(target_id)
    if by_kind[Kind.BOUGHT_TOGETHER]:
        first = Section(key="bought-together", title="Frequently bought together", ids=by_kind[Kind.BOUGHT_TOGETHER])
    else:
        first = Section(
            key="popular",
            title="Popular right now",
            note="Not bought with other patterns often enough yet: these are our best-sellers.",
            fallback=True,
            ids=by_kind[Kind.POPULAR],
        )
    return _fill(
        [
            first,
            Section(key="also-viewed", title="Buyers also viewed", ids=by_kind[Kind.ALSO_VIEWED]),
            Section(
                key="complete-project",
                title="Complete the project",
                note="Patterns of another kind that go with this one.",
                ids=by_kind[Kind.COMPLETE_PROJECT],
            ),
        ],
        limit=limit,
    )


def pattern_bought_together(*, pattern_id: int, limit: int | None = None) -> list[tuple[Pattern, float]]:
    """(pattern, lift) of the published patterns bought together with this one, best first, with what the list API
    shows of them (files with their reports)."""
    rows = list(
        _published_targets()
        .filter(source_id=pattern_id, kind=Kind.BOUGHT_TOGETHER)
        .order_by("rank")
        .values_list("target_id", "score")[: limit or settings.TESSERA_RECS_PER_PATTERN]
    )
    scores = dict(rows)
    patterns = catalog_selectors.pattern_cards(pattern_ids=[pk for pk, _ in rows], file_reports=True)
    return [(pattern, scores[pattern.pk]) for pattern in patterns]


def _owned(user: Any) -> QuerySet[Entitlement, Any]:
    return Entitlement.objects.filter(buyer=user, revoked_at__isnull=True).values("pattern_id")


def _signals(user: Any) -> dict[int, str]:
    """Pattern id → the strongest of the buyer's signals about it (owned, favourite, viewed): one query."""
    since = timezone.now() - timedelta(days=settings.TESSERA_RECS_VIEW_DAYS)
    owned = _owned(user).annotate(signal=Value("owned", output_field=CharField())).values_list("pattern_id", "signal")
    favourites = (
        Favourite.objects.filter(user=user)
        .annotate(signal=Value("favourite", output_field=CharField()))
        .values_list("pattern_id", "signal")
    )
    viewed = (
        Event.objects.filter(kind=Event.Kind.PAGE_VIEW, user=user, pattern_id__isnull=False, created_at__gte=since)
        .annotate(signal=Value("viewed", output_field=CharField()))
        .order_by("-created_at")
        .values_list("pattern_id", "signal")[:RECENT_VIEWS]
    )
    signals: dict[int, str] = {}
    for pattern_id, signal in owned.union(favourites, viewed, all=True):
        if SIGNAL_WEIGHTS[signal] > SIGNAL_WEIGHTS.get(signals.get(pattern_id, ""), 0.0):
            signals[pattern_id] = signal
    return signals


def user_sections(*, user: Any, limit: int = 8) -> list[Section]:
    """Home's "Recommended for you" for a signed-in buyer, from what they hold, saved and looked at: neighbours
    of those, weighted by signal and kind and by rank. Never their own patterns, what they hold or saved. Short
    of ``limit``, "Popular right now" (labelled) fills in; with no history at all, only that. Two queries, then
    five for the cards."""
    signals = _signals(user)
    excluded = {pk for pk, signal in signals.items() if signal != "viewed"}
    sources = list(signals)
    rows = (
        _published_targets()
        .filter(
            Q(source_id__in=sources, kind__in=list(KIND_WEIGHTS))
            | Q(source__isnull=True, kind=Kind.POPULAR, rank__lte=2 * limit)
        )
        .exclude(target__creator=user)
        .exclude(target_id__in=_owned(user))
        .values_list("kind", "source_id", "target_id", "rank")
    )
    scores: dict[int, float] = defaultdict(float)
    popular: list[tuple[int, int]] = []
    for kind, source_id, target_id, rank in rows:
        if target_id in excluded:
            continue
        if kind == Kind.POPULAR:
            popular.append((rank, target_id))
        else:
            scores[target_id] += SIGNAL_WEIGHTS[signals[source_id]] * KIND_WEIGHTS[kind] / (rank + 1)
    personal = sorted(scores, key=lambda pk: (-scores[pk], pk))
    return _fill(
        [
            Section(
                key="for-you",
                title="Recommended for you",
                note="From patterns you bought, saved or looked at.",
                ids=personal,
            ),
            Section(
                key="popular",
                title="Popular right now",
                note="Our best-sellers"
                + (
                    ": buy, save or look at a few patterns and we will suggest more like them." if not personal else "."
                ),
                fallback=True,
                ids=[pk for _, pk in sorted(popular)][: max(0, limit - len(personal))] if len(personal) < limit else [],
            ),
        ],
        limit=limit,
    )


def _user_version_key(user_id: int) -> str:
    return f"recs:for-you-version:{user_id}"


def user_recommendations_changed(*, user_id: int) -> None:
    """The buyer's kept "for you" is stale from the moment the current transaction commits (they came to hold a
    pattern)."""
    # robust: Redis being down must not fail the payment that granted the pattern (logged by Django).
    transaction.on_commit(lambda: cache.set(_user_version_key(user_id), time.time_ns(), timeout=None), robust=True)


def user_sections_cached(*, user: Any, limit: int = 8) -> list[Section]:
    """``user_sections``, kept per buyer for TESSERA_RECS_FOR_YOU_SECONDS (no query on a warm home page): until
    the catalogue changes (a pattern unpublished or deleted, the buyer's new pattern published) or the buyer comes
    to hold a pattern (``user_recommendations_changed``, at the grant's commit). A favourite or a view shows at the
    next expiry. With the page cache off (tests, ``TESSERA_PAGE_CACHE=0``), computed every time."""
    if not settings.TESSERA_PAGE_CACHE:
        return user_sections(user=user, limit=limit)
    version = cache.get(_user_version_key(user.pk), 0)
    key = f"recs:for-you:{settings.TESSERA_RELEASE}:{user.pk}:{limit}:{version}:{catalogue_fragment_key()}"
    sections: list[Section] | None = cache.get(key)
    if sections is None:
        sections = user_sections(user=user, limit=limit)
        cache.set(key, sections, timeout=settings.TESSERA_RECS_FOR_YOU_SECONDS)
    return sections


def cart_sections(*, user: Any, cart_ids: Sequence[int], limit: int = 4) -> list[Section]:
    """The cart page's suggestions: bought together with the cart's patterns (then what completes their project),
    never what is in the cart, what the buyer holds or their own patterns; "Popular right now" (labelled) when
    there is nothing to go on. One query, then five for the cards."""
    if not cart_ids:
        return []
    rows = (
        _published_targets()
        .filter(
            Q(source_id__in=list(cart_ids), kind__in=[Kind.BOUGHT_TOGETHER, Kind.COMPLETE_PROJECT])
            | Q(source__isnull=True, kind=Kind.POPULAR, rank__lte=limit + len(cart_ids))
        )
        .exclude(target_id__in=list(cart_ids))
    )
    if getattr(user, "is_authenticated", False):
        rows = rows.exclude(target__creator=user).exclude(target_id__in=_owned(user))
    scores: dict[int, float] = defaultdict(float)
    popular: list[tuple[int, int]] = []
    for kind, target_id, rank in rows.values_list("kind", "target_id", "rank"):
        if kind == Kind.POPULAR:
            popular.append((rank, target_id))
        else:
            # Bought together first; complementary patterns after them.
            scores[target_id] += (1.0 if kind == Kind.BOUGHT_TOGETHER else 0.01) / (rank + 1)
    personal = sorted(scores, key=lambda pk: (-scores[pk], pk))
    if personal:
        section = Section(key="cart-suggestions", title="Often bought with these", ids=personal)
    else:
        section = Section(
            key="popular",
            title="Popular right now",
            note="Our best-sellers: nothing is bought with these often enough yet.",
            fallback=True,
            ids=[pk for _, pk in sorted(popular)],
        )
    return _fill([section], limit=limit)
