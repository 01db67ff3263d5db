"""The demand report: searches that went unmet, one row per group of terms, read from the rollups only.

A row is a group of terms alike in meaning (``DemandTerm.group``), labelled with its most searched wording.
``searches``: the searches that found nothing above the relevance floor or whose results no one clicked within
the click window; ``searchers``: the distinct people behind them; ``results``: how many results the group's most
recent search showed; ``trend``: see ``analytics.demand.trends``. A row is shown only when at least
``TESSERA_DEMAND_MIN_SEARCHERS`` distinct people searched it (k-anonymity) and at least
``TESSERA_DEMAND_MIN_UNMET_SHARE`` of the group's searches went unmet (a popular term whose results most people
click is not a gap because a few did not). A category takes the searches narrowed to it and those made without a
filter whose term's nearest patterns are in it (``DemandTerm.category``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.demand.trends import Trend, trend
from analytics.models import DemandDay, DemandSearcher
from catalog.models import CreatorProfile, Pattern


class DemandRow(TypedDict):
    query: str
    searches: int
    searchers: int
    results: int
    trend: Trend


def demand_report(*, days: int, category: str = "", today: date | None = None) -> list[DemandRow]:
    """The unmet searches of the last ``days`` days up to ``today`` (UTC), most searchers first; ``category``:
    only searches narrowed to that category's slug ("" all). At most ``TESSERA_DEMAND_REPORT_LIMIT`` rows."""
    today = today or timezone.now().astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    period = Q(day__gte=start, day__lte=today)
    if category:
        # Searches narrowed to the category, and those made without a filter whose term is nearest to it.
        period &= Q(category=category) | Q(category="", term__category=category)
    group = Coalesce("term__group_id", "term_id")
    searchers = dict(
        DemandSearcher.objects.filter(period)
        .annotate(group=group)
        .values("group")
        .annotate(n=Count("searcher", distinct=True))
        .filter(n__gte=settings.TESSERA_DEMAND_MIN_SEARCHERS)
        .values_list("group", "n")
    )
    if not searchers:
        return []
    cells = (
        DemandDay.objects.filter(period)
        .annotate(group=group)
        .filter(group__in=list(searchers))
        .values("group", "wording", "day")
        .annotate(searches=Sum("searches"), unmet=Sum("unmet"), results=Max("results"))
        .values_list("group", "wording", "day", "searches", "unmet", "results")
    )
    wordings: dict[int, Counter[str]] = defaultdict(Counter)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    daily: dict[int, Counter[date]] = defaultdict(Counter)
    latest: dict[int, tuple[date, int]] = {}
    for group_id, text, day, searches, unmet, results in cells:
        wordings[group_id][text] += searches
        totals[group_id][0] += searches
        totals[group_id][1] += unmet
        daily[group_id][day] += unmet
        if group_id not in latest or (day, results) > latest[group_id]:
            latest[group_id] = (day, results)
    days_list = [start + timedelta(days=offset) for offset in range(days)]
    rows: list[DemandRow] = []
    for group_id, (searches, unmet) in totals.items():
        if not unmet or unmet < settings.TESSERA_DEMAND_MIN_UNMET_SHARE * searches:
            continue
        label = min(wordings[group_id].items(), key=lambda item: (-item[1], item[0]))[0]
        rows.append(
            {
                "query": label,
                "searches": unmet,
                "searchers": searchers[group_id],
                "results": latest[group_id][1],
                "trend": trend(
                    [daily[group_id][day] for day in days_list],
                    days_list,
                    rising_growth=settings.TESSERA_DEMAND_RISING_GROWTH,
                ),
            }
        )
    rows.sort(key=lambda row: (-row["searchers"], -row["searches"], row["query"]))
    return rows[: settings.TESSERA_DEMAND_REPORT_LIMIT]


def may_see_demand(user: Any) -> bool:
    """Creators and staff see the demand report. A creator is who has a shop profile (``CreatorProfile``, made by
    "start selling" or the shop profile page) or has uploaded any pattern (the upload flow does not require a
    profile); a buyer has neither."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    return (
        CreatorProfile.objects.filter(user_id=user.pk).exists() or Pattern.objects.filter(creator_id=user.pk).exists()
    )
