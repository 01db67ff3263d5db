"""What the insights pages (``/sell/insights/``, ``/staff/insights/``) add to ``analytics.selectors``: the
creator's patterns without traffic (zero rows), preview thumbnails, period comparisons, bar charts drawn as SVG
geometry, and the CSV form of every table. Reads only the rollups (through the selectors) and the catalogue;
a fixed number of queries whatever the number of patterns."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from catalog.models import Pattern, Preview
from catalog.templatetags.tessera import amount_of

# (metric, label, money) of the four charts over time.
CHARTS = (("views", "Views", False), ("visitors", "Visitors", False), ("purchases", "Sales", False))
REVENUE_CHART = ("revenue", "Revenue", True)
# The totals compared with the previous period: (metric, label, kind) where kind is "count", "money" or "rate".
TILES = (
    ("views", "Views", "count"),
    ("visitors", "Visitors", "count"),
    ("add_to_cart", "Added to cart", "count"),
    ("purchases", "Sales", "count"),
    ("revenue", "Revenue", "money"),
    ("conversion", "Conversion", "rate"),
)
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


# ---- Reads --------------------------------------------------------------------------------------------------


def pattern_rows(*, creator_id: int, active: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``shop_insights``' per-pattern rows (patterns with activity, most visitors first) followed by the
    creator's other patterns (not deleted) with zeros, newest first, so every pattern links to its page."""
    seen = {row["pattern_id"] for row in active}
    quiet = (
        Pattern.objects.filter(creator_id=creator_id)
        .exclude(status=Pattern.Status.DELETED)
        .exclude(pk__in=seen)
        .order_by("-created_at", "-pk")
        .values("pk", "title", "slug", "status")
    )
    zeros = dict.fromkeys(("views", "visitors", "impressions", "clicks", "add_to_cart", "purchases"), 0)
    rows = [dict(row) for row in active]
    for info in quiet:
        rows.append(
            {
                "pattern_id": info["pk"],
                "title": info["title"],
                "slug": info["slug"],
                "status": info["status"],
                **zeros,
                "revenue": 0,
                "net": 0,
                "conversion": 0.0,
            }
        )
    statuses = dict(Pattern.Status.choices)
    for row in rows:
        row["status_label"] = statuses.get(row["status"], row["status"] or "Removed")
    return rows


def preview_details(previews: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The selectors' preview rows with the ``preview`` itself (renditions prefetched, for a thumbnail) and its
    pattern's title; rows whose preview no longer exists keep ``preview`` None."""
    found = {
        preview.pk: preview
        for preview in Preview.objects.filter(pk__in=[row["preview_id"] for row in previews])
        .select_related("pattern")
        .prefetch_related("renditions")
    }
    rows = []
    for row in previews:
        preview = found.get(row["preview_id"])
        rows.append({**row, "preview": preview, "pattern_title": preview.pattern.title if preview is not None else ""})
    return rows


# ---- Comparisons and charts -----------------------------------------------------------------------------------


def compare(current: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """One tile per TILES entry: this period's value, the previous period's, the change (a rate's in percentage
    points) and the relative change in percent (None when the previous period had nothing)."""
    tiles = []
    for metric, label, kind in TILES:
        now, before = current[metric], previous[metric]
        if kind == "rate":
            delta: float = round((now - before) * 100, 1)
            percent = None
        else:
            delta = now - before
            percent = round(delta * 100 / before) if before else None
        tiles.append(
            {
                "metric": metric,
                "label": label,
                "kind": kind,
                "value": now,
                "previous": before,
                "delta": delta,
                "percent": percent,
                "direction": "up" if delta > 0 else "down" if delta < 0 else "same",
            }
        )
    return tiles


def funnel(totals: dict[str, Any]) -> list[dict[str, Any]]:
    """Visitors → added to cart → purchases: each step's count, its share of the step before and of the visitors
    (percent, one decimal; None when the base is 0) and its bar's length (percent of the widest step)."""
    steps = [("visitors", "Visitors"), ("add_to_cart", "Added to cart"), ("purchases", "Purchases")]
    widest = max((int(totals[m]) for m, _ in steps), default=0)
    rows: list[dict[str, Any]] = []
    before: int | None = None
    for metric, label in steps:
        count = int(totals[metric])
        rows.append(
            {
                "metric": metric,
                "label": label,
                "count": count,
                "of_previous": round(count * 100 / before, 1) if before else None,
                "of_visitors": round(count * 100 / totals["visitors"], 1) if totals["visitors"] else None,
                "length": round(count * 100 / widest, 2) if widest else 0,
            }
        )
        before = count
    return rows


@dataclass(frozen=True, kw_only=True)
class Bar:
    x: float
    y: float
    height: float
    day: Any
    value: int


def chart(*, series: list[dict[str, Any]], metric: str, label: str, money: bool) -> dict[str, Any]:
    """A bar chart of ``metric`` per day in a ``len(series)`` × 100 viewBox (stretched to the width by CSS)."""
    values = [int(point[metric]) for point in series]
    peak = max(values, default=0)
    bars = [
        Bar(x=index + 0.15, y=100 - value * 100 / peak, height=value * 100 / peak, day=point["day"], value=value)
        for index, (point, value) in enumerate(zip(series, values, strict=True))
        if value and peak
    ]
    return {
        "metric": metric,
        "label": label,
        "money": money,
        "width": len(values),
        "bars": bars,
        "peak": peak,
        "total": sum(values),
        "first": series[0]["day"] if series else None,
        "last": series[-1]["day"] if series else None,
    }


def charts(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        chart(series=series, metric=metric, label=label, money=money)
        for metric, label, money in (*CHARTS, REVENUE_CHART)
    ]


# ---- CSV ------------------------------------------------------------------------------------------------------


def _major(amount: int) -> str:
    """Minor units as a plain decimal ("12.50"), as spreadsheets read it (money without a currency)."""
    return amount_of(amount)


def _rate(value: float) -> str:
    return f"{value:.4f}"


def safe_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would read as a formula (= + - @, tab, carriage return) gets a leading
    quote; numbers are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


Column = tuple[str, Callable[[dict[str, Any]], Any]]


def _field(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row[name]


def _counts(*names: str) -> list[Column]:
    return [(name, _field(name)) for name in names]


def _money_columns(currency: str, *names: str) -> list[Column]:
    def amount(name: str) -> Callable[[dict[str, Any]], str]:
        return lambda row: _major(row[name])

    return [(f"{name} ({currency})", amount(name)) for name in names]


def csv_tables(insights: dict[str, Any], *, scope: str) -> dict[str, tuple[list[Column], Iterable[dict[str, Any]]]]:
    """Every table of a page (``scope``: "shop", "pattern" or "marketplace") as (columns, rows)."""
    currency = insights["currency"]
    totals, previous = insights["totals"], insights["previous"]
    metrics = ["views", "visitors", "searches", "impressions", "clicks", "add_to_cart", "purchases"]
    total_rows: list[dict[str, Any]] = [
        {"metric": m, "now": totals[m], "before": previous[m], "change": totals[m] - previous[m]} for m in metrics
    ]
    total_rows += [
        {
            "metric": f"{m} ({currency})",
            "now": _major(totals[m]),
            "before": _major(previous[m]),
            "change": _major(totals[m] - previous[m]),
        }
        for m in ("revenue", "net")
    ]
    total_rows.append(
        {
            "metric": "conversion",
            "now": _rate(totals["conversion"]),
            "before": _rate(previous["conversion"]),
            "change": _rate(totals["conversion"] - previous["conversion"]),
        }
    )
    tables: dict[str, tuple[list[Column], Iterable[dict[str, Any]]]] = {
        "totals": (
            [
                ("metric", lambda r: r["metric"]),
                (f"last {insights['days']} days", lambda r: r["now"]),
                (f"previous {insights['days']} days", lambda r: r["before"]),
                ("change", lambda r: r["change"]),
            ],
            total_rows,
        ),
        "daily": (
            [
                ("day", lambda r: r["day"].isoformat()),
                *_counts("views", "visitors", "add_to_cart", "purchases"),
                *_money_columns(currency, "revenue", "net"),
            ],
            insights["series"],
        ),
        "sources": (
            [
                ("source", lambda r: r["source"]),
                *_counts("visitors", "views", "purchases"),
                ("conversion", lambda r: _rate(r["conversion"])),
                *_money_columns(currency, "revenue", "net"),
            ],
            insights["sources"],
        ),
        "campaigns": (
            [
                ("utm_source", lambda r: r["source"]),
                ("utm_medium", lambda r: r["medium"]),
                ("utm_campaign", lambda r: r["campaign"]),
                *_counts("visitors", "views", "purchases"),
                ("conversion", lambda r: _rate(r["conversion"])),
                *_money_columns(currency, "revenue", "net"),
            ],
            insights["campaigns"],
        ),
    }
    if scope == "marketplace":
        tables["top_queries"] = (
            [("query", _field("query")), *_counts("searches", "visitors", "clicks")],
            insights["top_queries"],
        )
        return tables
    tables["search_terms"] = (
        [
            ("query", lambda r: r["query"]),
            ("searches that showed it", lambda r: r["impressions"]),
            ("clicks", lambda r: r["clicks"]),
            ("visitors", lambda r: r["visitors"]),
            ("purchases", lambda r: r["purchases"]),
            *_money_columns(currency, "revenue"),
        ],
        insights["search_terms"],
    )
    tables["previews"] = (
        [
            ("preview_id", lambda r: r["preview_id"]),
            ("pattern", lambda r: r.get("pattern_title", "")),
            ("label", lambda r: r["label"]),
            *_counts("views", "visitors", "purchases"),
            ("conversion", lambda r: _rate(r["conversion"])),
            *_money_columns(currency, "revenue"),
        ],
        insights["previews"],
    )
    tables["countries"] = (
        [("country", lambda r: r["country"] or "unknown"), ("purchases", lambda r: r["purchases"])]
        + _money_columns(currency, "revenue", "net"),
        insights["countries"],
    )
    tables["buyers"] = (
        [("buyers", lambda r: r["kind"]), ("purchases", lambda r: r["purchases"])]
        + _money_columns(currency, "revenue", "net"),
        insights["buyers"],
    )
    if scope == "shop":
        tables["patterns"] = (
            [
                ("pattern_id", lambda r: r["pattern_id"]),
                ("title", lambda r: r["title"]),
                ("status", lambda r: r["status"]),
                *_counts("views", "visitors", "add_to_cart", "purchases"),
                ("conversion", lambda r: _rate(r["conversion"])),
                *_money_columns(currency, "revenue", "net"),
            ],
            insights["patterns"],
        )
    return tables


def csv_text(columns: list[Column], rows: Iterable[dict[str, Any]]) -> str:
    """The table as CSV text (a header row, then one line per row; CRLF line ends, formula-safe cells)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([name for name, _ in columns])
    for row in rows:
        writer.writerow([safe_cell(get(row)) for _, get in columns])
    return out.getvalue()
