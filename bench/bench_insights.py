"""`make bench-insights`: what creator insights cost, each against a floor measured in the same run.

Starts its own embedded PostgreSQL and Redis under var/bench-insights/ (production-mode settings: DEBUG off, page
cache off so every request runs its view), then measures, in this process:

(a) tracking per page request: a pattern page through Django's test client (the whole middleware stack, no
    network) with tracking on (visitor cookie, source and UTM parsing, ``track()``) and off
    (``catalog.views.track_request`` replaced by a no-op), the variants alternating in blocks; plus the time spent
    inside ``track_request`` per call. Goal: tracking adds <= 1 ms p95.
(b) the rollup worker: BENCH_ROLLUP_EVENTS raw events of today (views, impressions, previews, carts, searches,
    purchases over 200 patterns) folded by ``rollup_refresh()``; events read per second. Floor: reading the same
    rows once into a temporary table (what any rollup must do). Also ``events_drain()`` (Redis -> PostgreSQL) per
    second for BENCH_DRAIN_EVENTS tracked events. Goal: >= 5,000 events/s.
(c) a creator with BENCH_CREATOR_EVENTS (1,000,000) raw events over the last 90 days behind them, rolled up:
    ``shop_insights`` (30 and 365 days), ``pattern_insights``, and ``GET /api/v1/insights/?days=30`` p95 over
    BENCH_READS calls. Floor: a primary-key SELECT of one pattern through the ORM. Goal: <= 150 ms p95.

Environment: BENCH_REQUESTS per variant (960), BENCH_ROLLUP_EVENTS (200000), BENCH_DRAIN_EVENTS (50000),
BENCH_CREATOR_EVENTS (1000000), BENCH_READS (60).
"""

# ruff: noqa: S608 - the generated SQL holds only ints this bench chose.
from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench-insights"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "960"))
ROLLUP_EVENTS = int(os.environ.get("BENCH_ROLLUP_EVENTS", "200000"))
DRAIN_EVENTS = int(os.environ.get("BENCH_DRAIN_EVENTS", "50000"))
CREATOR_EVENTS = int(os.environ.get("BENCH_CREATOR_EVENTS", "1000000"))
READS = int(os.environ.get("BENCH_READS", "60"))
BLOCKS = 24

if __name__ == "__main__":
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
            "DJANGO_DEBUG": "0",
            "TESSERA_VAR_DIR": str(VAR),
            "TESSERA_DATABASE_NAME": "tessera_bench_insights",
            "TESSERA_PAGE_CACHE": "0",
            "LOG_LEVEL": "ERROR",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
    )
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[bench-insights] {message}", flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def seed() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from django.utils import timezone

    from catalog.models import Category, Licence, Pattern, User

    category = Category.objects.get(slug="3d-printing")
    licence = Licence.objects.get(code="personal")
    creators = []
    for c in range(20):
        user, _ = User.objects.get_or_create(username=f"bench_creator_{c}", defaults={"email": f"bc{c}@example.com"})
        creators.append(user)
    patterns = list(Pattern.objects.filter(slug__startswith="bench-insights-").order_by("pk"))
    if not patterns:
        Pattern.objects.bulk_create(
            Pattern(
                title=f"Bench insights pattern {i}",
                slug=f"bench-insights-{i}",
                description="A pattern for the insights bench.",
                creator=creators[i % len(creators)],
                category=category,
                licence=licence,
                price=500 + i,
                currency="USD",
                status=Pattern.Status.PUBLISHED,
                published_at=timezone.now(),
            )
            for i in range(200)
        )
        patterns = list(Pattern.objects.filter(slug__startswith="bench-insights-").order_by("pk"))
    buyers = []
    for b in range(200):
        user, _ = User.objects.get_or_create(username=f"bench_buyer_{b}", defaults={"email": f"bb{b}@example.com"})
        buyers.append(user)
    return {"creators": creators, "patterns": patterns, "buyers": buyers}


def bench_tracking(pattern: Any) -> dict[str, Any]:
    """(a) the pattern page with tracking on and off, alternating blocks; time inside track_request."""
    from django.test import Client

    import catalog.views
    from marketplace import tracking

    real = tracking.track_request
    inside: list[int] = []

    def clocked(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        result = real(*args, **kwargs)
        inside.append(time.perf_counter_ns() - started)
        return result

    def off(*args: Any, **kwargs: Any) -> None:
        return None

    browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
    client = Client(HTTP_USER_AGENT=browser)
    path = pattern.get_absolute_url() + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
    referer = "https://www.reddit.com/r/functionalprint/comments/abc/"
    for _ in range(200):
        client.get(path, HTTP_REFERER=referer)
    tracking.flush()
    results: dict[str, list[float]] = {"off": [], "on": []}
    medians: dict[str, list[float]] = {"off": [], "on": []}
    failed = 0
    per_block = max(REQUESTS // BLOCKS, 1)
    try:
        for block in range(BLOCKS):
            for name in ("off", "on") if block % 2 == 0 else ("on", "off"):
                catalog.views.track_request = off if name == "off" else clocked  # type: ignore[assignment]
                times = []
                for _ in range(per_block):
                    started = time.perf_counter()
                    response = client.get(path, HTTP_REFERER=referer)
                    times.append(time.perf_counter() - started)
                    failed += response.status_code != 200
                results[name] += times
                medians[name].append(statistics.median(times))
            tracking.flush()
    finally:
        catalog.views.track_request = real  # type: ignore[assignment]
    return {"latency": results, "medians": medians, "inside_ns": inside, "failed": failed}


def _generate_sql(*, count: int, days: int, pattern_ids: list[int], buyer_ids: list[int], start_order: int) -> str:
    """One INSERT … SELECT generate_series of ``count`` raw events over the last ``days`` days (today included).
    Built from ints this bench chose, nothing from outside."""
    return f"""
    INSERT INTO analytics_event (kind, user_id, pattern_id, visitor, path, query, result_count, metadata,
        created_at, source, utm_source, utm_medium, utm_campaign, item)
    SELECT
        k.kind,
        CASE WHEN k.kind = 'purchase' OR g % 10 = 0 THEN buyers[1 + (g * 7) % {len(buyer_ids)}] END,
        CASE WHEN k.kind = 'search' THEN NULL ELSE patterns[1 + (g * 13) % {len(pattern_ids)}] END,
        CASE WHEN g % 20 = 0 THEN '' ELSE md5((g % 100000)::text) END,
        '/p/x/',
        CASE WHEN k.kind IN ('search', 'impression') OR (k.kind = 'page_view' AND g % 5 = 0)
            THEN 'query ' || (g % 300)::text ELSE '' END,
        CASE WHEN k.kind = 'search' THEN g % 40 END,
        CASE WHEN k.kind = 'purchase' THEN jsonb_build_object(
            'order_id', {start_order} + g, 'amount', 500, 'net', 440, 'currency', 'USD',
            'returning', g % 3 = 0, 'country', (ARRAY['US', 'DE', 'FR', 'GB', 'JP'])[1 + g % 5])
            ELSE '{{}}'::jsonb END,
        now() - make_interval(secs => (g::double precision / {count}) * {days} * 86400 * 0.999),
        CASE WHEN k.kind = 'page_view' AND g % 5 = 0 THEN 'search'
            ELSE (ARRAY['direct', 'reddit.com', 'pinterest.com', 'internal', 'google.com'])[1 + g % 5] END,
        CASE WHEN g % 10 = 1 THEN 'newsletter' ELSE '' END,
        CASE WHEN g % 10 = 1 THEN 'email' ELSE '' END,
        CASE WHEN g % 10 = 1 THEN 'spring' ELSE '' END,
        CASE WHEN k.kind = 'preview_view' THEN 1 + g % 4 END
    FROM generate_series(1, {count}) AS g,
        LATERAL (SELECT CASE
            WHEN g % 100 < 70 THEN 'page_view' WHEN g % 100 < 80 THEN 'impression'
            WHEN g % 100 < 88 THEN 'preview_view' WHEN g % 100 < 93 THEN 'search'
            WHEN g % 100 < 97 THEN 'add_to_cart' WHEN g % 100 < 99 THEN 'search_request' ELSE 'purchase' END AS kind) k,
        (SELECT ARRAY{pattern_ids}::int[] AS patterns, ARRAY{buyer_ids}::int[] AS buyers) ids
    """


def bench_rollup(data: dict[str, Any]) -> dict[str, float]:
    """(b) rollup_refresh over a day of ROLLUP_EVENTS events; the floor reads them once; events_drain per second."""
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from analytics.models import Event, Rollup, RollupWatermark
    from analytics.rollups import _LOAD_SQL, rollup_refresh
    from analytics.services import events_drain
    from marketplace import tracking

    Event.objects.all().delete()
    Rollup.objects.all().delete()
    RollupWatermark.objects.all().delete()
    pattern_ids = [p.pk for p in data["patterns"]]
    buyer_ids = [b.pk for b in data["buyers"]]
    with connection.cursor() as cursor:
        cursor.execute(
            _generate_sql(count=ROLLUP_EVENTS, days=0, pattern_ids=pattern_ids, buyer_ids=buyer_ids, start_order=0)
        )
        cursor.execute("ANALYZE analytics_event")
    rounds = []
    floors = []
    for _ in range(2):
        RollupWatermark.objects.all().delete()
        result = rollup_refresh()
        rounds.append(result["events_read"] / result["seconds"])
        today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(
                _LOAD_SQL,
                {"grain": "day", "start": today, "end": today + timedelta(days=1)},
            )
            floors.append(cursor.rowcount / (time.perf_counter() - started))
            cursor.execute("DROP TABLE ev")
    rows = Rollup.objects.count()
    # events_drain: tracked events through Redis into PostgreSQL.
    event = tracking.PageViewed(
        path="/p/x/", pattern_id=pattern_ids[0], visitor="a" * 32, source="reddit.com", utm_campaign="spring"
    )
    for _ in range(DRAIN_EVENTS):
        tracking.track(event)
    tracking.flush()
    started = time.perf_counter()
    written = 0
    while True:
        batch = events_drain(batch=1000, max_batches=1000)
        written += batch
        if not batch:
            break
    drain = written / (time.perf_counter() - started)
    return {"rollup": max(rounds), "floor": max(floors), "rows": rows, "drain": drain, "drained": written}


def bench_reads(data: dict[str, Any]) -> dict[str, Any]:
    """(c) one creator with CREATOR_EVENTS raw events over 90 days, rolled up; p95 of the selectors and the API."""
    from django.db import connection
    from django.test import Client

    from analytics.models import Event, Rollup, RollupWatermark
    from analytics.rollups import rollup_refresh
    from analytics.selectors import marketplace_insights, pattern_insights, shop_insights
    from catalog.models import Pattern

    creator = data["creators"][0]
    own = [p.pk for p in data["patterns"] if p.creator_id == creator.pk]
    Event.objects.all().delete()
    Rollup.objects.all().delete()
    RollupWatermark.objects.all().delete()
    buyer_ids = [b.pk for b in data["buyers"]]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            _generate_sql(count=CREATOR_EVENTS, days=89, pattern_ids=own, buyer_ids=buyer_ids, start_order=10**7)
        )
        cursor.execute("ANALYZE analytics_event")
    generated = time.perf_counter() - started
    started = time.perf_counter()
    result = rollup_refresh()
    rolled = time.perf_counter() - started
    log(f"(c) {CREATOR_EVENTS} events generated in {generated:.1f} s, rolled up in {rolled:.1f} s")

    def p95(fn: Callable[[], Any]) -> float:
        fn()
        return percentile([timed(fn) for _ in range(READS)], 0.95) * 1e3

    client = Client()
    client.force_login(creator)
    first = own[0]
    out = {
        "rollup_seconds": rolled,
        "rollup_events": result["events_read"],
        "rollup_rows": Rollup.objects.filter(creator_id=creator.pk).count(),
        "shop_30": p95(lambda: shop_insights(creator_id=creator.pk, days=30)),
        "shop_365": p95(lambda: shop_insights(creator_id=creator.pk, days=365)),
        "pattern_30": p95(lambda: pattern_insights(pattern_id=first, days=30)),
        "marketplace_30": p95(lambda: marketplace_insights(days=30)),
        "api_shop_30": p95(lambda: client.get("/api/v1/insights/", {"days": "30"})),
        "api_pattern_365": p95(lambda: client.get(f"/api/v1/insights/patterns/{first}/", {"days": "365"})),
        "floor": p95(lambda: Pattern.objects.get(pk=first)),
        "status": client.get("/api/v1/insights/", {"days": "30"}).status_code,
    }
    return out


def main() -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    from marketplace import embedded

    started = time.monotonic()
    try:
        embedded.ensure_postgres("tessera_bench_insights")
        embedded.ensure_redis()
        data = seed()
        from bench.bench_ingest import machine

        log(f"seeded in {time.monotonic() - started:.0f} s")
        tracked = bench_tracking(data["patterns"][0])
        log("(a) done")
        rolled = bench_rollup(data)
        log(f"(b) {rolled}")
        reads = bench_reads(data)
        log(f"(c) {reads}")
    finally:
        embedded.stop_redis()
        embedded.stop_postgres()
    on, off = tracked["latency"]["on"], tracked["latency"]["off"]
    paired = statistics.median(a - b for a, b in zip(tracked["medians"]["on"], tracked["medians"]["off"], strict=True))
    inside = [v / 1e3 for v in tracked["inside_ns"]]

    def ms(values: list[float], share: float) -> str:
        return f"{percentile(values, share) * 1e3:.2f}"

    lines = [
        "## Creator insights (`make bench-insights`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine()}; load average after the run: "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}. Embedded PostgreSQL and Redis (unix sockets), "
        "DEBUG off, page cache off, one process.",
        "",
        f"(a) A pattern page with a Referer and UTM tags (Django test client in-process, {len(on)} requests per "
        f"variant in {BLOCKS} alternating blocks; {tracked['failed']} non-200).",
        "",
        "| Measure | Tracking on | Tracking off (floor) | Difference | Goal |",
        "|---|---:|---:|---:|---|",
        f"| page p50 ms | {ms(on, 0.5)} | {ms(off, 0.5)} | {(percentile(on, 0.5) - percentile(off, 0.5)) * 1e3:+.3f}"
        " | |",
        f"| page p95 ms | {ms(on, 0.95)} | {ms(off, 0.95)} | "
        f"{(percentile(on, 0.95) - percentile(off, 0.95)) * 1e3:+.3f} | <= 1 ms |",
        f"| paired block medians, on - off | | | {paired * 1e3:+.3f} ms | <= 1 ms |",
        f"| time inside `track_request` p50 / p95 / p99 | {percentile(inside, 0.5):.1f} / "
        f"{percentile(inside, 0.95):.1f} / {percentile(inside, 0.99):.1f} µs | 0 | | <= 1 ms |",
        "",
        "(b) The rollup worker and the drain.",
        "",
        "| Measure | Result | Floor (same run) | Ratio to floor | Goal |",
        "|---|---:|---:|---:|---|",
        f"| `rollup_refresh()` over a day of {ROLLUP_EVENTS:,} raw events (200 patterns; {rolled['rows']:,} rollup "
        f"rows) | {rolled['rollup']:,.0f} events/s | {rolled['floor']:,.0f} rows/s read once into a temp table | "
        f"{rolled['rollup'] / rolled['floor']:.2f} | >= 5,000 events/s |",
        f"| `events_drain()` Redis -> PostgreSQL, {rolled['drained']:,} tracked page views | "
        f"{rolled['drain']:,.0f} events/s | | | >= 5,000 events/s |",
        "",
        f"(c) One creator with {reads['rollup_events']:,} raw events over the last 90 days (10 patterns), rolled up "
        f"in {reads['rollup_seconds']:.1f} s into {reads['rollup_rows']:,} rollup rows; p95 over {READS} calls.",
        "",
        "| Read | p95 ms | Goal |",
        "|---|---:|---|",
        f"| floor: one pattern by primary key (ORM) | {reads['floor']:.2f} | |",
        f"| `shop_insights(days=30)` | {reads['shop_30']:.1f} | <= 150 ms |",
        f"| `shop_insights(days=365)` | {reads['shop_365']:.1f} | <= 150 ms |",
        f"| `pattern_insights(days=30)` | {reads['pattern_30']:.1f} | |",
        f"| `marketplace_insights(days=30)` | {reads['marketplace_30']:.1f} | |",
        f"| `GET /api/v1/insights/?days=30` (test client, session) | {reads['api_shop_30']:.1f} | <= 150 ms |",
        f"| `GET /api/v1/insights/patterns/{{id}}/?days=365` | {reads['api_pattern_365']:.1f} | |",
    ]
    print("\n".join(lines))
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
