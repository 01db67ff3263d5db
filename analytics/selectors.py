"""Reads of creator and marketplace insights, from the rollups only (``analytics.rollups``), never raw events.

Each selector answers for the last ``days`` UTC days up to and including today (``now``'s day), with the same
number of days before them as ``previous``, in a plain dict the API, the dashboard pages and their CSV exports
share. Money is in minor units of ``currency``; ``revenue`` is the gross item price (before fees and tax),
``net`` the creator's part after Tessera's fee. ``visitors`` are visitor-days (a visitor counted once a day).
``conversion`` is purchases / visitors (0.0 with no visitors), rounded to 4 places.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from analytics.models import Rollup
from catalog.models import Pattern, Preview

PERIODS = (7, 30, 90, 365)
METRICS = ("views", "visitors", "searches", "impressions", "clicks", "add_to_cart", "purchases", "revenue", "net")
SERIES_METRICS = ("views", "visitors", "add_to_cart", "purchases", "revenue", "net")


def _period(*, days: int, now: datetime | None) -> tuple[datetime, datetime, datetime]:
    """(previous period's start, this period's start, its end) as UTC midnights; the end is exclusive."""
    if days not in PERIODS:
        raise ValueError(f"days must be one of {PERIODS}")
    moment = (now or timezone.now()).astimezone(UTC)
    end = moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = end - timedelta(days=days)
    return start - timedelta(days=days), start, end


def _conversion(purchases: int, visitors: int) -> float:
    return round(purchases / visitors, 4) if visitors else 0.0


def _sums(rows: Any) -> Any:
    return rows.annotate(**{name: Sum(name) for name in METRICS})


def _totals(row: dict[str, Any] | None) -> dict[str, Any]:
    totals: dict[str, Any] = {name: int((row or {}).get(name) or 0) for name in METRICS}
    totals["conversion"] = _conversion(totals["purchases"], totals["visitors"])
    return totals


def _insights(*, scope: Q, days: int, now: datetime | None, currency: str) -> dict[str, Any]:
    previous_start, start, end = _period(days=days, now=now)
    rows = Rollup.objects.filter(scope, grain="day")
    period = rows.filter(bucket__gte=start, bucket__lt=end)
    totals = period.filter(dimension="").aggregate(**{name: Sum(name) for name in METRICS})
    previous = rows.filter(dimension="", bucket__gte=previous_start, bucket__lt=start).aggregate(
        **{name: Sum(name) for name in METRICS}
    )
    by_day: dict[date, Any] = {
        row["bucket"].date(): row
        for row in period.filter(dimension="").values("bucket").annotate(**{n: Sum(n) for n in SERIES_METRICS})
    }
    series: list[dict[str, Any]] = []
    for offset in range(days):
        day = (start + timedelta(days=offset)).date()
        found = by_day.get(day, {})
        series.append({"day": day, **{name: int(found.get(name) or 0) for name in SERIES_METRICS}})
    today = end - timedelta(days=1)
    hourly_rows: dict[datetime, Any] = {
        row["bucket"]: row
        for row in Rollup.objects.filter(scope, grain="hour", dimension="", bucket__gte=today, bucket__lt=end)
        .values("bucket")
        .annotate(**{n: Sum(n) for n in SERIES_METRICS})
    }
    hourly: list[dict[str, Any]] = []
    for hour in range(24):
        moment = today + timedelta(hours=hour)
        found = hourly_rows.get(moment, {})
        hourly.append({"hour": moment, **{name: int(found.get(name) or 0) for name in SERIES_METRICS}})
    breakdown: dict[str, list[dict[str, Any]]] = {}
    for row in _sums(period.exclude(dimension="").values("dimension", "key", "key2", "key3")):
        breakdown.setdefault(row["dimension"], []).append(row)

    def table(dimension: str) -> list[dict[str, Any]]:
        return breakdown.get(dimension, [])

    def money(row: dict[str, Any]) -> dict[str, int]:
        return {"purchases": int(row["purchases"]), "revenue": int(row["revenue"]), "net": int(row["net"])}

    sources: list[dict[str, Any]] = sorted(
        (
            {
                "source": row["key"] or "direct",
                "visitors": int(row["visitors"]),
                "views": int(row["views"]),
                **money(row),
                "conversion": _conversion(int(row["purchases"]), int(row["visitors"])),
            }
            for row in table("source")
        ),
        key=lambda r: (-r["visitors"], -r["purchases"], r["source"]),
    )
    campaigns: list[dict[str, Any]] = sorted(
        (
            {
                "source": row["key2"],
                "medium": row["key3"],
                "campaign": row["key"],
                "visitors": int(row["visitors"]),
                "views": int(row["views"]),
                **money(row),
                "conversion": _conversion(int(row["purchases"]), int(row["visitors"])),
            }
            for row in table("campaign")
        ),
        key=lambda r: (-r["visitors"], -r["purchases"], r["source"], r["campaign"]),
    )
    search_terms: list[dict[str, Any]] = sorted(
        (
            {
                "query": row["key"],
                "impressions": int(row["impressions"]),
                "clicks": int(row["clicks"]),
                "visitors": int(row["visitors"]),
                **money(row),
            }
            for row in table("search")
        ),
        key=lambda r: (-r["visitors"], -r["impressions"], -r["purchases"], r["query"]),
    )
    preview_rows = table("preview")
    labels = dict(
        Preview.objects.filter(pk__in=[int(r["key"]) for r in preview_rows if r["key"].isdigit()]).values_list(
            "pk", "label"
        )
    )
    previews: list[dict[str, Any]] = sorted(
        (
            {
                "preview_id": int(row["key"]),
                "label": labels.get(int(row["key"]), ""),
                "views": int(row["views"]),
                "visitors": int(row["visitors"]),
                **money(row),
                "conversion": _conversion(int(row["purchases"]), int(row["visitors"])),
            }
            for row in preview_rows
            if row["key"].isdigit()
        ),
        key=lambda r: (-r["conversion"], -r["visitors"], r["preview_id"]),
    )
    countries: list[dict[str, Any]] = sorted(
        ({"country": row["key"], **money(row)} for row in table("country")),
        key=lambda r: (-r["purchases"], -r["revenue"], r["country"]),
    )
    found_buyers = {row["key"]: money(row) for row in table("buyer")}
    buyers = [
        {"kind": kind, **found_buyers.get(kind, {"purchases": 0, "revenue": 0, "net": 0})}
        for kind in ("new", "returning")
    ]
    return {
        "days": days,
        "start": start.date(),
        "end": (end - timedelta(days=1)).date(),
        "currency": currency,
        "totals": _totals(totals),
        "previous": _totals(previous),
        "series": series,
        "hourly": hourly,
        "sources": sources,
        "campaigns": campaigns,
        "search_terms": search_terms,
        "previews": previews,
        "countries": countries,
        "buyers": buyers,
        "_breakdown": breakdown,
    }


def pattern_insights(*, pattern_id: int, days: int, now: datetime | None = None) -> dict[str, Any]:
    """One pattern's insights over the last ``days`` days (see the module docstring for the shape)."""
    found = Pattern.objects.filter(pk=pattern_id).values_list("currency", "creator_id").first()
    currency, creator_id = found or (settings.TESSERA_INSIGHTS_DEFAULT_CURRENCY, None)
    # The creator too: the rollups' index leads with it.
    scope = Q(pattern_id=pattern_id) if creator_id is None else Q(creator_id=creator_id, pattern_id=pattern_id)
    result = _insights(scope=scope, days=days, now=now, currency=currency)
    result.pop("_breakdown")
    result["pattern_id"] = pattern_id
    return result


def shop_insights(*, creator_id: int, days: int, now: datetime | None = None) -> dict[str, Any]:
    """A creator's whole shop (their patterns and their shop page) over the last ``days`` days, with ``patterns``:
    one funnel row per pattern that had any activity, most visitors first."""
    currencies = Counter(Pattern.objects.filter(creator_id=creator_id).values_list("currency", flat=True))
    currency = currencies.most_common(1)[0][0] if currencies else settings.TESSERA_INSIGHTS_DEFAULT_CURRENCY
    result = _insights(scope=Q(pattern_id=0, creator_id=creator_id), days=days, now=now, currency=currency)
    result.pop("_breakdown")
    _, start, end = _period(days=days, now=now)
    per_pattern = _sums(
        Rollup.objects.filter(
            creator_id=creator_id, pattern_id__gt=0, grain="day", dimension="", bucket__gte=start, bucket__lt=end
        ).values("pattern_id")
    )
    titles: dict[int, Any] = {
        row["pk"]: row for row in Pattern.objects.filter(creator_id=creator_id).values("pk", "title", "slug", "status")
    }
    patterns: list[dict[str, Any]] = []
    for row in per_pattern:
        info = titles.get(row["pattern_id"], {})
        totals = _totals(row)
        patterns.append(
            {
                "pattern_id": row["pattern_id"],
                "title": info.get("title", ""),
                "slug": info.get("slug", ""),
                "status": info.get("status", ""),
                **{name: totals[name] for name in ("views", "visitors", "impressions", "clicks", "add_to_cart")},
                **{name: totals[name] for name in ("purchases", "revenue", "net", "conversion")},
            }
        )
    patterns.sort(key=lambda r: (-r["visitors"], -r["purchases"], r["pattern_id"]))
    result["patterns"] = patterns
    result["creator_id"] = creator_id
    return result


def marketplace_insights(*, days: int, now: datetime | None = None) -> dict[str, Any]:
    """The whole marketplace (staff): ``gmv`` (gross item sales), orders and conversion, sources, campaigns,
    ``top_queries`` (searches by their words, with the visitors who searched and the clicks on results)."""
    result = _insights(
        scope=Q(pattern_id=0, creator_id=0), days=days, now=now, currency=settings.TESSERA_INSIGHTS_DEFAULT_CURRENCY
    )
    breakdown = result.pop("_breakdown")
    result["gmv"] = result["totals"]["revenue"]
    top_queries: list[dict[str, Any]] = sorted(
        (
            {
                "query": row["key"],
                "searches": int(row["searches"]),
                "visitors": int(row["visitors"]),
                "clicks": int(row["clicks"]),
            }
            for row in breakdown.get("query", [])
        ),
        key=lambda r: (-r["searches"], -r["visitors"], r["query"]),
    )
    result["top_queries"] = top_queries
    return result


def period_days(raw: str | None, *, default: int = 30) -> int | None:
    """``days`` from a query string: one of PERIODS, ``default`` when absent, None when not allowed."""
    if raw is None or raw == "":
        return default
    return int(raw) if raw.isdigit() and int(raw) in PERIODS else None


def as_of(day: date) -> datetime:
    """A moment on ``day`` (UTC noon), for ``now=`` in tests and CSV exports of a past period."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
