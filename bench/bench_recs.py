"""`make bench-recs`: hit-rate@10 of each recommender against a popularity baseline on held-out purchases.

Starts its own embedded PostgreSQL and Redis under var/bench-recs/ and generates a marketplace with planted
structure (seeded, so every run is the same):

- BENCH_PATTERNS (400) published patterns in projects of 10 (e.g. a sewing pattern, its fabric print, its
  embroidery file), of mixed file families; each pattern's MiniLM-sized text embedding is its project's direction
  plus noise, so patterns of a project read alike; popularity is Zipf-distributed, and one "blockbuster" is put
  in 30 % of all orders (bought with everything, associated with nothing);
- BENCH_BUYERS (3000) buyers, each working on one project: 2-4 orders each; an order is, 70 % of the time, 1-3
  patterns of their project, otherwise 1-2 patterns drawn by popularity; they browse in 1-3 sessions (cookie
  visitors, sessions more than 30 minutes apart) of 3-6 pattern views, 70 % in their project;
- each buyer's LAST order is held out; the rest (orders, entitlements, page views) is written to the database and
  ``recommendations_recompute`` runs once (timed).

Then for each buyer with a history, each recommender ranks 10 patterns from the buyer's earlier purchases (never
one they hold); a hit is a held-out pattern among them. Recommenders: popularity (the baseline: the 10
best-sellers they do not hold), bought together / also viewed / complete the project alone (their rows of the
buyer's patterns, summed 1/(rank+1)), and "for you" exactly as the home page computes it
(``analytics.recommendations.selectors.user_sections``: the three blended, then popularity filling in).

Environment: BENCH_PATTERNS, BENCH_BUYERS, BENCH_SEED (13), BENCH_EVAL (0: every buyer; else the first N).
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench-recs"))
PATTERNS = int(os.environ.get("BENCH_PATTERNS", "400"))
BUYERS = int(os.environ.get("BENCH_BUYERS", "3000"))
SEED = int(os.environ.get("BENCH_SEED", "13"))
# Evaluate only the first BENCH_EVAL buyers (0: all); a large log for timing the recompute needs no full evaluation.
EVAL = int(os.environ.get("BENCH_EVAL", "0"))
PROJECT_SIZE = 10
K = 10
FORMATS = ["stl", "svg", "pdf", "png"]

if __name__ == "__main__":
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
            "DJANGO_DEBUG": "0",
            "TESSERA_VAR_DIR": str(VAR),
            "TESSERA_DATABASE_NAME": "tessera_bench_recs",
            "TESSERA_PAGE_CACHE": "0",
            "LOG_LEVEL": "ERROR",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[bench-recs] {message}", flush=True)


def generate(rng: random.Random) -> dict[str, Any]:
    """The planted marketplace, in memory: projects, popularity, orders (the last per buyer held out), views."""
    import numpy as np

    np_rng = np.random.default_rng(SEED)
    projects = PATTERNS // PROJECT_SIZE
    directions = np_rng.normal(size=(projects, 384))
    embeddings = []
    for index in range(PATTERNS):
        vector = directions[index % projects] + np_rng.normal(size=384) * 1.2
        embeddings.append((vector / np.linalg.norm(vector)).tolist())
    project_of = [index % projects for index in range(PATTERNS)]
    members: dict[int, list[int]] = defaultdict(list)
    for index, project in enumerate(project_of):
        members[project].append(index)
    popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(PATTERNS)]
    rng.shuffle(popularity)
    blockbuster = max(range(PATTERNS), key=lambda i: popularity[i])
    buyers = []
    for _ in range(BUYERS):
        project = rng.randrange(projects)
        owned: set[int] = set()
        orders = []
        for _ in range(rng.randint(2, 4)):
            if rng.random() < 0.7:
                choices = [i for i in members[project] if i not in owned]
                weights = [popularity[i] for i in choices]
                basket = set(rng.choices(choices, weights=weights, k=rng.randint(1, 3))) if choices else set()
            else:
                basket = set(rng.choices(range(PATTERNS), weights=popularity, k=rng.randint(1, 2)))
            if rng.random() < 0.3:
                basket.add(blockbuster)
            basket -= owned
            if basket:
                orders.append(sorted(basket))
                owned |= basket
        sessions = []
        for _ in range(rng.randint(1, 3)):
            views = [
                rng.choice(members[project])
                if rng.random() < 0.7
                else rng.choices(range(PATTERNS), weights=popularity)[0]
                for _ in range(rng.randint(3, 6))
            ]
            sessions.append(views)
        buyers.append({"orders": orders, "sessions": sessions, "project": project})
    return {"embeddings": embeddings, "buyers": buyers, "blockbuster": blockbuster}


def seed(data: dict[str, Any]) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from django.db import connection
    from django.utils import timezone

    from analytics.models import Event
    from catalog.models import Category, Licence, Pattern, PatternFile, User
    from delivery.models import Entitlement
    from payments.models import Order, OrderItem

    with connection.cursor() as cursor:  # a fresh run every time
        cursor.execute(
            "TRUNCATE analytics_recommendation, analytics_event, delivery_entitlement, payments_orderitem, "
            "payments_order, catalog_patternfile, catalog_pattern_tags, catalog_pattern CASCADE"
        )
    User.objects.filter(username__startswith="bench_recs_").delete()
    now = timezone.now()
    creators = User.objects.bulk_create([User(username=f"bench_recs_creator_{i}") for i in range(40)])
    category = Category.objects.get(slug="3d-printing")
    licence = Licence.objects.get(code="personal")
    patterns = Pattern.objects.bulk_create(
        [
            Pattern(
                title=f"Bench pattern {i}",
                slug=f"bench-recs-{i}",
                creator=creators[i % len(creators)],
                category=category,
                licence=licence,
                price=500,
                status=Pattern.Status.PUBLISHED,
                published_at=now - timedelta(days=100, minutes=i),
                text_embedding=vector,
            )
            for i, vector in enumerate(data["embeddings"])
        ],
        batch_size=500,
    )
    PatternFile.objects.bulk_create(
        [
            PatternFile(
                pattern=pattern,
                original=f"bench/{pattern.pk}.{FORMATS[i % 7 % 4]}",
                original_name=f"file.{FORMATS[i % 7 % 4]}",
                sha256=f"{pattern.pk:064x}",
                size=1,
                format=FORMATS[i % 7 % 4],
                status=PatternFile.Status.VALID,
            )
            for i, pattern in enumerate(patterns)
        ],
        batch_size=1000,
    )
    users = User.objects.bulk_create(
        [User(username=f"bench_recs_buyer_{b}") for b in range(len(data["buyers"]))], batch_size=1000
    )
    orders: list[Any] = []
    lines: list[tuple[Any, list[Any]]] = []
    events: list[Any] = []
    held_out: dict[int, set[int]] = {}
    history: dict[int, list[int]] = {}
    for user, buyer in zip(users, data["buyers"], strict=True):
        if len(buyer["orders"]) < 2:
            continue
        *train, last = buyer["orders"]
        held_out[user.pk] = {patterns[i].pk for i in last}
        history[user.pk] = [patterns[i].pk for basket in train for i in basket]
        for n, basket in enumerate(train):
            at = now - timedelta(days=60 - n * 5)
            order = Order(buyer=user, amount=500 * len(basket), currency="USD", status="paid", paid_at=at)
            orders.append(order)
            lines.append((order, [patterns[i] for i in basket]))
        for s, views in enumerate(buyer["sessions"]):
            start = now - timedelta(days=50 - s * 3)
            events.extend(
                Event(
                    kind=Event.Kind.PAGE_VIEW,
                    visitor=f"v{user.pk}",
                    pattern=patterns[i],
                    created_at=start + timedelta(minutes=2 * v),
                )
                for v, i in enumerate(views)
            )
    Order.objects.bulk_create(orders, batch_size=2000)
    items = [
        OrderItem(
            order=order, pattern=p, creator_id=p.creator_id, licence=licence, price=500, currency="USD", platform_fee=0
        )
        for order, basket in lines
        for p in basket
    ]
    OrderItem.objects.bulk_create(items, batch_size=2000)
    entitled = [
        Entitlement(buyer_id=item.order.buyer_id, pattern_id=item.pattern_id, order_item=item) for item in items
    ]
    Entitlement.objects.bulk_create(entitled, batch_size=2000)
    Event.objects.bulk_create(events, batch_size=5000)
    return {"held_out": held_out, "history": history, "orders": len(orders), "views": len(events)}


def ranked(rows: list[tuple[int, int, int]], sources: list[int], owned: set[int]) -> list[int]:
    """Targets of the rows of ``sources``, summed 1/(rank+1), best first, none the buyer holds."""
    scores: dict[int, float] = defaultdict(float)
    for source, target, rank in rows:
        if source in sources and target not in owned:
            scores[target] += 1.0 / (rank + 1)
    return sorted(scores, key=lambda pk: (-scores[pk], pk))[:K]


def evaluate(seeded: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Recommender → (hit-rate@10, share of buyers it had anything for)."""
    from analytics.models import Recommendation
    from analytics.recommendations import selectors
    from catalog.models import User

    by_kind: dict[str, dict[int, list[tuple[int, int, int]]]] = defaultdict(lambda: defaultdict(list))
    for kind, source, target, rank in Recommendation.objects.values_list("kind", "source_id", "target_id", "rank"):
        by_kind[kind][source].append((source, target, rank))
    popular = [
        pk for pk in Recommendation.objects.filter(kind="popular").order_by("rank").values_list("target_id", flat=True)
    ]
    hits: dict[str, int] = defaultdict(int)
    served: dict[str, int] = defaultdict(int)
    users = {user.pk: user for user in User.objects.filter(pk__in=list(seeded["history"]))}
    evaluated = list(seeded["history"].items())[: EVAL or None]
    for user_id, history in evaluated:
        owned = set(history)
        lists = {"popularity (baseline)": [pk for pk in popular if pk not in owned][:K]}
        for kind, label in (
            ("bought_together", "bought together"),
            ("also_viewed", "also viewed"),
            ("complete_project", "complete the project"),
        ):
            rows = [row for source in set(history) for row in by_kind[kind].get(source, [])]
            lists[label] = ranked(rows, history, owned)
        sections = selectors.user_sections(user=users[user_id], limit=K)
        lists["for you (home page)"] = [p.pk for section in sections for p in section.patterns][:K]
        for label, recommended in lists.items():
            served[label] += bool(recommended)
            hits[label] += bool(set(recommended) & seeded["held_out"][user_id])
    total = len(evaluated)
    return {label: (hits[label] / total, served[label] / total) for label in hits}


def main() -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    from marketplace import embedded

    rng = random.Random(SEED)
    try:
        embedded.ensure_postgres("tessera_bench_recs")
        embedded.ensure_redis()
        started = time.perf_counter()
        data = generate(rng)
        seeded = seed(data)
        log(
            f"seeded {PATTERNS} patterns, {seeded['orders']} orders, {seeded['views']} page views in "
            f"{time.perf_counter() - started:.0f} s"
        )
        from analytics.recommendations.services import recommendations_recompute

        started = time.perf_counter()
        stats = recommendations_recompute()
        recompute_seconds = time.perf_counter() - started
        log(f"recompute: {recompute_seconds:.1f} s {stats}")
        started = time.perf_counter()
        results = evaluate(seeded)
        evaluated = min(EVAL or len(seeded["history"]), len(seeded["history"]))
        log(f"evaluated {evaluated} buyers in {time.perf_counter() - started:.0f} s")
        from bench.bench_ingest import machine

        host = machine()
    finally:
        embedded.stop_redis()
        embedded.stop_postgres()
    baseline = results["popularity (baseline)"][0]
    print()
    print(f"Machine: {host}")
    print(
        f"Log: {PATTERNS} patterns in projects of {PROJECT_SIZE}, {seeded['orders']} paid orders and "
        f"{seeded['views']} page views for training, {evaluated} buyers "
        f"evaluated on their held-out last order "
        f"(seed {SEED}). Recompute: {recompute_seconds:.1f} s ({stats['rows']} rows)."
    )
    print()
    print("| Recommender | hit-rate@10 | vs popularity | buyers served |")
    print("|---|---:|---:|---:|")
    for label, (rate, share) in results.items():
        lift = f"{rate / baseline:.2f}×" if baseline else "n/a"
        print(f"| {label} | {rate:.3f} | {lift} | {share:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
