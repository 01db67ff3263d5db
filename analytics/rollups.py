"""Rollups: the raw events aggregated per pattern, shop and the marketplace, per day and per hour (``Rollup``).

``rollup_refresh`` (the beat task ``analytics.tasks.rollup_refresh``, every TESSERA_ROLLUP_SECONDS on ``default``)
recomputes, from the raw events, every day that received events since its watermark (the highest event id read),
plus today, and replaces those days' rows as a whole: running it twice changes nothing, and a day's rows are always
exactly what its raw events say. Two runs at once are safe: a transaction-level advisory lock lets one work and the
other return at once (the next beat catches up). Days older than the raw events' retention
(TESSERA_ANALYTICS_RAW_RETENTION_DAYS) are never recomputed: their raw events are gone, their rollups stay.

Each day is read once into a temporary table; every breakdown is one ``INSERT … SELECT … GROUP BY`` over it.
Visitors are distinct non-empty ``visitor`` ids plus one per event without one (a request that refused the
cookie is a visitor of its own); a period's visitors are the sum of its days' (visitor-days). A purchase is
credited to the source, search words, campaign and previews that ``analytics.services.purchase_attribution`` found
when it was recorded (stored in its metadata: read once, not at every rollup).
"""

# ruff: noqa: S608 - the SQL is put together from this module's constants only; every value is a parameter.
from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import Event, Rollup, RollupWatermark

logger = logging.getLogger(__name__)

WATERMARK = "events"
_LOCK_KEY = 0x7E55E8A13  # pg advisory lock: one rollup at a time
HOURLY_DAYS = 2  # hourly rows are kept (and computed) for today and yesterday

_COLUMNS = (
    "grain, bucket, pattern_id, creator_id, dimension, key, key2, key3, "
    "views, visitors, searches, impressions, clicks, add_to_cart, purchases, revenue, net"
)
_CONFLICT = (
    "ON CONFLICT ON CONSTRAINT rollup_unique_bucket DO UPDATE SET "
    "purchases = EXCLUDED.purchases, revenue = EXCLUDED.revenue, net = EXCLUDED.net"
)

# (pattern_id, creator_id, rows taken) per scope: a pattern; a creator's shop (their patterns and shop page); all.
_SCOPES = (
    ("pattern_id", "owner_id", "pattern_id IS NOT NULL AND owner_id IS NOT NULL"),
    ("0", "owner_id", "owner_id IS NOT NULL"),
    ("0", "0", "TRUE"),
)


def _visitors(condition: str) -> str:
    return (
        f"(COUNT(DISTINCT NULLIF(visitor, '')) FILTER (WHERE {condition})"
        f" + COUNT(*) FILTER (WHERE {condition} AND visitor = ''))"
    )


def _group(*expressions: str) -> str:
    """A GROUP BY of the expressions that are not constants (a constant would be read as a column position)."""
    return ", ".join(e for e in expressions if not e.isdigit())


def _view_statements() -> list[str]:
    """INSERTs of the totals and the view-side breakdowns, from the temporary table ``ev``."""
    statements = []
    for pid, cid, where in _SCOPES:
        head = f"INSERT INTO analytics_rollup ({_COLUMNS}) SELECT %(grain)s, bucket, {pid}, {cid}"
        statements.append(
            f"""{head}, '', '', '', '',
                COUNT(*) FILTER (WHERE kind = 'page_view'),
                {_visitors("kind = 'page_view'")},
                COUNT(*) FILTER (WHERE kind = 'search'),
                COUNT(*) FILTER (WHERE kind = 'impression'),
                COUNT(*) FILTER (WHERE kind = 'page_view' AND source = 'search'),
                COUNT(*) FILTER (WHERE kind = 'add_to_cart'),
                COUNT(DISTINCT order_key) FILTER (WHERE kind = 'purchase'),
                COALESCE(SUM(amount) FILTER (WHERE kind = 'purchase'), 0),
                COALESCE(SUM(net) FILTER (WHERE kind = 'purchase'), 0)
            FROM ev WHERE {where} GROUP BY {_group("bucket", pid, cid)}"""
        )
        statements.append(
            f"""{head}, 'source', source, '', '', COUNT(*), {_visitors("TRUE")}, 0, 0, 0, 0, 0, 0, 0
            FROM ev WHERE {where} AND kind = 'page_view' GROUP BY {_group("bucket", pid, cid, "source")}"""
        )
        statements.append(
            f"""{head}, 'campaign', utm_campaign, utm_source, utm_medium, COUNT(*), {_visitors("TRUE")},
                0, 0, 0, 0, 0, 0, 0
            FROM ev WHERE {where} AND kind = 'page_view'
                AND (utm_source <> '' OR utm_campaign <> '' OR utm_medium <> '')
            GROUP BY {_group("bucket", pid, cid, "utm_campaign", "utm_source", "utm_medium")}"""
        )
        statements.append(
            f"""{head}, 'search', query, '', '',
                COUNT(*) FILTER (WHERE kind = 'page_view'), {_visitors("kind = 'page_view'")}, 0,
                COUNT(*) FILTER (WHERE kind = 'impression'), COUNT(*) FILTER (WHERE kind = 'page_view'), 0, 0, 0, 0
            FROM ev WHERE {where} AND query <> ''
                AND (kind = 'impression' OR (kind = 'page_view' AND source = 'search'))
            GROUP BY {_group("bucket", pid, cid, "query")}"""
        )
        statements.append(
            f"""{head}, 'preview', item::text, '', '', COUNT(*), {_visitors("TRUE")}, 0, 0, 0, 0, 0, 0, 0
            FROM ev WHERE {where} AND kind = 'preview_view' AND item IS NOT NULL
            GROUP BY {_group("bucket", pid, cid, "item")}"""
        )
    # The marketplace's searches by their words, with the clicks on results they led to.
    statements.append(
        f"""INSERT INTO analytics_rollup ({_COLUMNS}) SELECT %(grain)s, bucket, 0, 0, 'query', query, '', '',
            0, {_visitors("kind = 'search'")}, COUNT(*) FILTER (WHERE kind = 'search'), 0,
            COUNT(*) FILTER (WHERE kind = 'page_view'), 0, 0, 0, 0
        FROM ev WHERE query <> '' AND (kind = 'search' OR (kind = 'page_view' AND source = 'search'))
        GROUP BY bucket, query"""
    )
    return statements


def _purchase_statements() -> list[str]:
    """INSERTs (merged into the view-side rows) of the purchases each source, campaign, search, preview led to,
    and of the buyers' countries and new/returning buyers, from the temporary table ``att``."""
    statements = []
    money = "COUNT(DISTINCT order_key), COALESCE(SUM(amount), 0), COALESCE(SUM(net), 0)"
    zeros = "0, 0, 0, 0, 0, 0"  # views, visitors, searches, impressions, clicks, add_to_cart
    for pid, cid, where in _SCOPES:
        head = f"INSERT INTO analytics_rollup ({_COLUMNS}) SELECT %(grain)s, bucket, {pid}, {cid}"
        for dimension, keys, group in (
            ("source", "att_source, '', ''", "att_source"),
            ("search", "att_query, '', ''", "att_query"),
            (
                "campaign",
                "att_campaign, att_utm_source, att_utm_medium",
                "att_campaign, att_utm_source, att_utm_medium",
            ),
            ("country", "country, '', ''", "country"),
            ("buyer", "buyer, '', ''", "buyer"),
        ):
            condition = {
                "search": " AND att_query <> ''",
                "campaign": " AND (att_campaign <> '' OR att_utm_source <> '' OR att_utm_medium <> '')",
            }.get(dimension, "")
            statements.append(
                f"""{head}, '{dimension}', {keys}, {zeros}, {money}
                FROM att WHERE {where}{condition} GROUP BY {_group("bucket", pid, cid)}, {group} {_CONFLICT}"""
            )
        statements.append(
            f"""{head}, 'preview', preview, '', '', {zeros}, {money}
            FROM att_previews WHERE {where} GROUP BY {_group("bucket", pid, cid)}, preview {_CONFLICT}"""
        )
    return statements


_VIEW_SQL = _view_statements()
_PURCHASE_SQL = _purchase_statements()

_LOAD_SQL = """
CREATE TEMPORARY TABLE ev ON COMMIT DROP AS
SELECT e.kind, e.pattern_id, e.visitor, e.query, e.source, e.utm_source, e.utm_medium, e.utm_campaign, e.item,
    e.user_id, e.created_at,
    date_trunc(%(grain)s, e.created_at, 'UTC') AS bucket,
    COALESCE(p.creator_id, (e.metadata ->> 'shop')::integer) AS owner_id,
    CASE WHEN e.kind = 'purchase' THEN e.metadata END AS purchase_meta,
    CASE WHEN e.kind = 'purchase' THEN e.metadata ->> 'order_id' END AS order_key,
    CASE WHEN e.kind = 'purchase' THEN COALESCE((e.metadata ->> 'amount')::bigint, 0) END AS amount,
    CASE WHEN e.kind = 'purchase'
        THEN COALESCE((e.metadata ->> 'net')::bigint, (e.metadata ->> 'amount')::bigint, 0) END AS net,
    CASE WHEN e.kind = 'purchase' THEN COALESCE(NULLIF(e.metadata ->> 'country', ''), (
        SELECT pay.card_country FROM payments_payment pay
        WHERE pay.order_id = (e.metadata ->> 'order_id')::integer AND pay.card_country <> '' LIMIT 1
    ), '') END AS country,
    CASE WHEN e.kind = 'purchase' THEN
        CASE WHEN (e.metadata ->> 'returning')::boolean THEN 'returning' ELSE 'new' END END AS buyer
FROM analytics_event e LEFT JOIN catalog_pattern p ON p.id = e.pattern_id
WHERE e.created_at >= %(start)s AND e.created_at < %(end)s
"""

# What led to each purchase was read once, when it was recorded (analytics.services.purchase_attribution).
_ATTRIBUTE_SQL = """
CREATE TEMPORARY TABLE att ON COMMIT DROP AS
SELECT ev.*,
    COALESCE(NULLIF(purchase_meta ->> 'source', ''), 'direct') AS att_source,
    COALESCE(purchase_meta ->> 'query', '') AS att_query,
    COALESCE(purchase_meta ->> 'utm_campaign', '') AS att_campaign,
    COALESCE(purchase_meta ->> 'utm_source', '') AS att_utm_source,
    COALESCE(purchase_meta ->> 'utm_medium', '') AS att_utm_medium,
    CASE WHEN jsonb_typeof(purchase_meta -> 'previews') = 'array' THEN purchase_meta -> 'previews'
        ELSE '[]'::jsonb END AS previews
FROM ev
WHERE ev.kind = 'purchase' AND ev.pattern_id IS NOT NULL
"""

_PREVIEWS_SQL = """
CREATE TEMPORARY TABLE att_previews ON COMMIT DROP AS
SELECT DISTINCT att.bucket, att.pattern_id, att.owner_id, att.order_key, att.amount, att.net,
    preview.value::text AS preview
FROM att, jsonb_array_elements(att.previews) AS preview
WHERE jsonb_typeof(preview.value) = 'number'
"""


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def rollup_day(*, day: datetime, grain: str = "day") -> int:
    """Replace the rollup rows of the UTC day starting at ``day`` (grain "day": one bucket; "hour": its 24) with
    what its raw events say now; how many raw events it read. Call inside a transaction."""
    end = day + timedelta(days=1)
    params: dict[str, Any] = {"grain": grain, "start": day, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM analytics_rollup WHERE grain = %s AND bucket >= %s AND bucket < %s", [grain, day, end]
        )
        cursor.execute(_LOAD_SQL, params)
        read = cursor.rowcount
        if read == 0:
            cursor.execute("DROP TABLE ev")
            return 0
        for statement in _VIEW_SQL:
            cursor.execute(statement, params)
        cursor.execute(_ATTRIBUTE_SQL, params)
        cursor.execute(_PREVIEWS_SQL, params)
        for statement in _PURCHASE_SQL:
            cursor.execute(statement, params)
        cursor.execute("DROP TABLE ev, att, att_previews")
    return read


def rollup_refresh(*, now: datetime | None = None) -> dict[str, Any]:
    """Bring the rollups up to date with the raw events (see the module's docstring). Returns what it did:
    ``{"skipped": bool, "days": [...], "events_read": n, "watermark": id, "seconds": s}``."""
    now = now or timezone.now()
    started = time.perf_counter()
    today = _day_start(now)
    oldest = today - timedelta(days=settings.TESSERA_ANALYTICS_RAW_RETENTION_DAYS - 1)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return {"skipped": True, "days": [], "events_read": 0, "watermark": None, "seconds": 0.0}
        mark, _ = RollupWatermark.objects.select_for_update().get_or_create(name=WATERMARK)
        top = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT date_trunc('day', created_at, 'UTC') FROM analytics_event WHERE id > %s AND id <= %s",
                [mark.last_event_id, top],
            )
            days = {row[0] for row in cursor.fetchall()}
        days.add(today)
        if now - today < timedelta(minutes=10):
            days.add(today - timedelta(days=1))  # events of just before midnight still being written
        days = {day for day in days if oldest <= day <= today}
        read = 0
        for day in sorted(days):
            read += rollup_day(day=day, grain="day")
            if day > today - timedelta(days=HOURLY_DAYS):
                rollup_day(day=day, grain="hour")
        Rollup.objects.filter(grain="hour", bucket__lt=today - timedelta(days=HOURLY_DAYS - 1)).delete()
        mark.last_event_id = max(top, mark.last_event_id)
        mark.refreshed_at = now
        mark.save(update_fields=["last_event_id", "refreshed_at"])
    seconds = time.perf_counter() - started
    logger.info("rollup: %s days, %s events read in %.2f s", len(days), read, seconds)
    return {
        "skipped": False,
        "days": sorted(days),
        "events_read": read,
        "watermark": mark.last_event_id,
        "seconds": seconds,
    }


def events_prune(*, now: datetime | None = None, batch: int = 10_000) -> int:
    """Delete the raw events of the days older than TESSERA_ANALYTICS_RAW_RETENTION_DAYS (whole UTC days, so a
    day's rollups were computed from all of its events); how many were deleted. Rollups stay."""
    now = now or timezone.now()
    cutoff = _day_start(now) - timedelta(days=settings.TESSERA_ANALYTICS_RAW_RETENTION_DAYS - 1)
    deleted = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM analytics_event WHERE id IN "
                "(SELECT id FROM analytics_event WHERE created_at < %s ORDER BY id LIMIT %s)",
                [cutoff, batch],
            )
            count = cursor.rowcount
        deleted += count
        if count < batch:
            break
    logger.info("analytics: %s raw events older than %s deleted", deleted, cutoff)
    return deleted
