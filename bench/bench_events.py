"""`make bench-events`: what domain events and tracking cost, each against a floor measured in the same run.

Starts its own embedded PostgreSQL and Redis under var/bench-events/ (production-mode settings: DEBUG off, page
cache off so every request runs its view), then measures, in this process:

(a) record() inside a service call: a typical event (``pattern.published`` with one outbox handler registered, so
    the record writes the event, its receipt and asks the events queue for a drain after commit) in its own
    ``transaction.atomic()`` per call, and 100 per transaction; the floor is a bare INSERT of a row of the same size
    (same columns and data, a table with no index) in the same shape of transaction;
(b) outbox drain throughput: receipts per second through ``outbox_drain()`` with a no-op handler; the floor is one
    transaction per receipt that UPDATEs one row of a copy of the receipts table by id;
(c) a page view: the time the request spends in ``marketplace.tracking.track`` (per call, wrapped with a clock),
    and the end-to-end latency of a pattern page through Django's test client in this process (the whole
    middleware stack, no network) with tracking on, off (``track`` replaced by a no-op), and with Redis stopped
    (the broker unreachable: tracking loses and counts its events; the page must not slow down). Blocks of
    requests alternate between the variants so that other work on a shared machine moves them alike.

Environment: BENCH_RECORDS (1000), BENCH_RECEIPTS (1000), BENCH_REQUESTS per variant (960).
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench-events"))
RECORDS = int(os.environ.get("BENCH_RECORDS", "1000"))
RECEIPTS = int(os.environ.get("BENCH_RECEIPTS", "1000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "960"))
BLOCKS = 24

if __name__ == "__main__":
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
            "DJANGO_DEBUG": "0",
            "TESSERA_VAR_DIR": str(VAR),
            "TESSERA_DATABASE_NAME": "tessera_bench_events",
            "TESSERA_EVENT_REGISTRY": "bench.bench_events.registry",
            "TESSERA_PAGE_CACHE": "0",
            "LOG_LEVEL": "ERROR",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
    )
    sys.path.insert(0, str(ROOT))

from marketplace.events.registry import Registry  # noqa: E402


def noop(event: Any) -> None:
    """The outbox handler of the bench: does nothing, so the drain's own cost is measured."""


registry = Registry()
registry.outbox("pattern.published", noop)


def log(message: str) -> None:
    print(f"[bench-events] {message}", flush=True)


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


def timed(fn: Callable[[], None]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def seed() -> tuple[Any, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from catalog.models import Category, Licence, Pattern, User

    user, _ = User.objects.get_or_create(username="bench_events", defaults={"email": "be@example.com"})
    pattern = Pattern.objects.filter(slug="bench-events-lamp").first()
    if pattern is None:
        from django.utils import timezone

        pattern = Pattern.objects.create(
            title="Bench events lamp",
            slug="bench-events-lamp",
            description="A pattern for the events bench.",
            creator=user,
            category=Category.objects.get(slug="3d-printing"),
            licence=Licence.objects.get(code="personal"),
            price=500,
            currency="USD",
            status=Pattern.Status.PUBLISHED,
            published_at=timezone.now(),
        )
    return user, pattern


def bench_record(user: Any, pattern: Any) -> dict[str, float]:
    """(a) events recorded per second against bare INSERTs of rows of the same size."""
    import json
    import uuid

    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.events import PatternPublished
    from marketplace.events import record

    def event() -> PatternPublished:
        return PatternPublished(
            pattern_id=pattern.pk, creator_id=user.pk, actor_id=user.pk, reason="Looks good: clean mesh, fair price."
        )

    sample = event()
    data = json.dumps(sample.data())
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_event")
        cursor.execute("CREATE TABLE bench_floor_event (LIKE events_eventrecord INCLUDING DEFAULTS)")
        cursor.execute("ALTER TABLE bench_floor_event ALTER COLUMN id DROP NOT NULL")
    insert = (
        "INSERT INTO bench_floor_event (uuid, type, actor_id, actor_username, at, data, subject_type, subject_id) "
        "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
    )

    def floor_row() -> list[Any]:
        return [uuid.uuid4(), sample.type, user.pk, user.username, timezone.now(), data, "pattern", pattern.pk]

    def records_one_per_transaction() -> None:
        for _ in range(RECORDS):
            with transaction.atomic():
                record(event())

    def floor_one_per_transaction() -> None:
        for _ in range(RECORDS):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(insert, floor_row())

    def records_batched() -> None:
        for _ in range(RECORDS // 100):
            with transaction.atomic():
                for _ in range(100):
                    record(event())

    def floor_batched() -> None:
        for _ in range(RECORDS // 100):
            with transaction.atomic(), connection.cursor() as cursor:
                for _ in range(100):
                    cursor.execute(insert, floor_row())

    # Warm both paths, then alternate so that noise moves them alike.
    with transaction.atomic():
        record(event())
    results: dict[str, list[float]] = {"record": [], "floor": [], "record_batched": [], "floor_batched": []}
    for _ in range(2):
        results["record"].append(per_second(RECORDS, timed(records_one_per_transaction)))
        results["floor"].append(per_second(RECORDS, timed(floor_one_per_transaction)))
        results["record_batched"].append(per_second(RECORDS, timed(records_batched)))
        results["floor_batched"].append(per_second(RECORDS, timed(floor_batched)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor_event")
    return {name: max(values) for name, values in results.items()}


def bench_drain() -> dict[str, float]:
    """(b) receipts per second through outbox_drain() with a no-op handler, against as many UPDATE transactions."""
    from django.db import connection, transaction
    from django.utils import timezone

    from marketplace.events.models import HandlerReceipt
    from marketplace.events.services import outbox_drain

    # What (a) left pending is the raw material: marked done at once (draining it all would take minutes).
    HandlerReceipt.objects.filter(status="pending").update(status="done", done_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_receipt")
        cursor.execute("CREATE TABLE bench_floor_receipt (LIKE events_handlerreceipt INCLUDING ALL)")
    results: dict[str, list[float]] = {"drain": [], "floor": []}
    for _ in range(2):
        receipts = HandlerReceipt.objects.filter(status="done").order_by("-id")
        done = list(receipts.values_list("id", flat=True)[:RECEIPTS])
        if len(done) < RECEIPTS:
            raise RuntimeError(f"only {len(done)} receipts to drain; raise BENCH_RECORDS")
        HandlerReceipt.objects.filter(pk__in=done).update(status="pending", next_attempt_at=timezone.now())
        started = time.perf_counter()
        drained = outbox_drain(limit=RECEIPTS)
        results["drain"].append(per_second(drained, time.perf_counter() - started))
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_floor_receipt")
            cursor.execute(
                "INSERT INTO bench_floor_receipt SELECT * FROM events_handlerreceipt WHERE id = ANY(%s)", [done]
            )
        started = time.perf_counter()
        for pk in done:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE bench_floor_receipt SET status = 'done', attempts = attempts + 1, done_at = now() "
                    "WHERE id = %s",
                    [pk],
                )
        results["floor"].append(per_second(len(done), time.perf_counter() - started))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor_receipt")
    return {name: max(values) for name, values in results.items()}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclasses.dataclass
class Variant:
    name: str
    latencies: list[float] = dataclasses.field(default_factory=list)
    track_ns: list[int] = dataclasses.field(default_factory=list)
    block_medians: list[float] = dataclasses.field(default_factory=list)
    failed: int = 0


def bench_page(pattern: Any) -> tuple[dict[str, Variant], dict[str, float], str]:
    """(c) time in track() per call and the pattern page's latency with tracking on, off and Redis stopped."""
    from django.test import Client

    from marketplace import embedded, tracking
    from marketplace.metrics import analytics_events_lost_total

    real_track = tracking.track
    variant_of_call: list[Variant] = []

    def clocked(event: tracking.TrackingEvent) -> None:
        started = time.perf_counter_ns()
        real_track(event)
        variant_of_call[0].track_ns.append(time.perf_counter_ns() - started)

    def off(event: tracking.TrackingEvent) -> None:
        return None

    client = Client()
    path = pattern.get_absolute_url()
    for _ in range(200):  # warm: templates, model loads, the tracking thread
        client.get(path)
    tracking.flush()
    variants = {name: Variant(name) for name in ("off", "on", "redis stopped")}
    per_block = max(REQUESTS // BLOCKS, 1)

    def run(variant: Variant) -> None:
        variant_of_call[:] = [variant]
        tracking.track = off if variant.name == "off" else clocked  # type: ignore[assignment]  # track_request calls it
        block = []
        for _ in range(per_block):
            started = time.perf_counter()
            response = client.get(path)
            block.append(time.perf_counter() - started)
            if response.status_code != 200:
                variant.failed += 1
        variant.latencies += block
        variant.block_medians.append(statistics.median(block))

    lost_before = sum(
        analytics_events_lost_total.labels(reason=r)._value.get() for r in ("broker_unreachable", "queue_full")
    )
    outage = "Redis stopped (embedded.stop_redis) for each of its blocks"
    order = ["off", "on", "redis stopped"]
    try:
        for block in range(BLOCKS):
            for name in order[block % 3 :] + order[: block % 3]:  # each variant first, second and last in turn
                if name == "redis stopped":
                    tracking.flush()
                    embedded.stop_redis()
                    run(variants[name])
                    tracking.flush()
                    embedded.ensure_redis()
                else:
                    run(variants[name])
    finally:
        tracking.track = real_track  # type: ignore[assignment]
        embedded.ensure_redis()
    lost = (
        sum(analytics_events_lost_total.labels(reason=r)._value.get() for r in ("broker_unreachable", "queue_full"))
        - lost_before
    )
    track_alone = microbench_track(pattern)
    return variants, {"lost": lost, **track_alone}, outage


def microbench_track(pattern: Any) -> dict[str, float]:
    """track() alone, 50,000 calls in a row with the thread sending: mean µs per call."""
    from marketplace import tracking

    calls = 50_000
    event = tracking.PageViewed(path=pattern.get_absolute_url(), pattern_id=pattern.pk)
    tracking.flush()
    started = time.perf_counter()
    for _ in range(calls):
        tracking.track(event)
    elapsed = time.perf_counter() - started
    tracking.flush()
    return {"track_alone_us": elapsed / calls * 1e6}


def main() -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    from marketplace import embedded

    started = time.monotonic()
    try:
        embedded.ensure_postgres("tessera_bench_events")
        embedded.ensure_redis()
        user, pattern = seed()
        from bench.bench_ingest import machine

        log(f"seeded in {time.monotonic() - started:.0f} s")
        recorded = bench_record(user, pattern)
        log(f"(a) {recorded}")
        drained = bench_drain()
        log(f"(b) {drained}")
        variants, extra, outage = bench_page(pattern)
        log(f"(c) {', '.join(f'{v.name}: {statistics.median(v.latencies) * 1e3:.2f} ms' for v in variants.values())}")
        from django.conf import settings

        flush_seconds = settings.TESSERA_TRACKING_FLUSH_SECONDS
    finally:
        embedded.stop_redis()
        embedded.stop_postgres()
    on, off, down = variants["on"], variants["off"], variants["redis stopped"]

    def ms(values: list[float], share: float) -> str:
        return f"{percentile(values, share) * 1e3:.2f}"

    def us(values: list[int], share: float) -> str:
        return f"{percentile([v / 1e3 for v in values], share):.1f}" if values else "-"

    lines = [
        "## Domain events and tracking (`make bench-events`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine()}; load average after the run: "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}. Embedded PostgreSQL and Redis (unix sockets), "
        "DEBUG off, one process; best of 2 rounds for (a) and (b), the variants alternating.",
        "",
        "| Measure | Result | Floor (same run) | Ratio to floor |",
        "|---|---:|---:|---:|",
        f"| (a) `record()` of `pattern.published` (1 outbox handler), one per `transaction.atomic()` | "
        f"{recorded['record']:.0f} events/s | {recorded['floor']:.0f} INSERT transactions/s | "
        f"{recorded['record'] / recorded['floor']:.2f} |",
        f"| (a) the same, 100 per transaction | {recorded['record_batched']:.0f} events/s | "
        f"{recorded['floor_batched']:.0f} INSERTs/s | {recorded['record_batched'] / recorded['floor_batched']:.2f} |",
        f"| (b) `outbox_drain()`, no-op handler | {drained['drain']:.0f} receipts/s | "
        f"{drained['floor']:.0f} UPDATE transactions/s | {drained['drain'] / drained['floor']:.2f} |",
        "",
        f"(c) A pattern page (anonymous, page cache off, Django test client in-process, {len(on.latencies)} requests "
        f"per variant in {BLOCKS} blocks, the variants taking turns). Time in `track()` measured around each call; "
        f"`track()` alone in a loop: {extra['track_alone_us']:.2f} µs per call. The tracking thread sends every "
        f"{flush_seconds:g} s.",
        "",
        "Paired / off: the median over the rounds of (this variant's block median / the off block's median in the "
        "same round), which cancels the drift of a shared machine better than the overall p50s.",
        "",
        "| Variant | p50 ms | p99 ms | p50 / off | paired / off | in `track()` p50 µs | p99 µs | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base50 = percentile(off.latencies, 0.5)
    for variant in (off, on, down):
        p50 = percentile(variant.latencies, 0.5)
        paired = statistics.median(a / b for a, b in zip(variant.block_medians, off.block_medians, strict=True))
        lines.append(
            f"| tracking {variant.name} | {ms(variant.latencies, 0.5)} | {ms(variant.latencies, 0.99)} | "
            f"{p50 / base50:.3f} | {paired:.3f} | {us(variant.track_ns, 0.5)} | {us(variant.track_ns, 0.99)} | "
            f"{variant.failed} |"
        )
    lines += [
        "",
        f"With {outage}: {extra['lost']:.0f} tracked views lost and counted in "
        "`tessera_analytics_events_lost_total` (broker_unreachable, queue_full); every page answered.",
    ]
    print("\n".join(lines))
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
