"""`make bench-load`: 150 users against a production-mode Tessera on this machine, at most 3 minutes of load.

Starts its own stack under var/bench/ (embedded PostgreSQL and Redis, the Stripe emulator, a Celery worker
and gunicorn serving marketplace.wsgi with DEBUG off, persistent database connections), seeds the demo
catalogue plus one buyer account per simulated user, runs locust headless (bench/locustfile.py) on loopback,
prints rps, p50/p95/p99 per request kind against a floor (a static file served in the same run) and errors
by status code, then stops everything it started.

Environment: BENCH_USERS (150), BENCH_SECONDS (90, at most 180), BENCH_WEB_PORT (8137), BENCH_STRIPE_PORT
(8447), BENCH_WORKERS (gunicorn processes, 4), BENCH_THREADS (threads per process, 8).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench"))
USERS = int(os.environ.get("BENCH_USERS", "150"))
SECONDS = min(int(os.environ.get("BENCH_SECONDS", "90")), 180)
WEB_PORT = int(os.environ.get("BENCH_WEB_PORT", "8137"))
STRIPE_PORT = int(os.environ.get("BENCH_STRIPE_PORT", "8447"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "8"))

# Production-like settings on the embedded services: DEBUG off, persistent connections, no Django runserver.
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DJANGO_DEBUG": "0",
        "TESSERA_VAR_DIR": str(VAR),
        "TESSERA_DATABASE_NAME": "tessera_bench",
        "LOCALSTRIPE_PORT": str(STRIPE_PORT),
        "PORT": str(WEB_PORT),
        "SITE_URL": f"http://127.0.0.1:{WEB_PORT}",
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        # One model thread per process: four processes on two cores must not each start a thread pool.
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
)
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import machine, write_section  # noqa: E402
from bench.serving import wait_http  # noqa: E402


def log(message: str) -> None:
    print(f"[bench-load] {message}", flush=True)


def prepare_postgres() -> int:
    """Start the bench PostgreSQL; check it admits one persistent connection per gunicorn thread and more."""
    import psycopg2

    from marketplace import embedded

    params = embedded.ensure_postgres("tessera_bench")
    conn = psycopg2.connect(dbname="postgres", **params)
    with conn.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        allowed = int(cursor.fetchone()[0])
    conn.close()
    needed = WORKERS * THREADS + 10  # web threads, worker, beat-less stack, this script, spare
    if allowed < needed:
        raise RuntimeError(f"PostgreSQL admits {allowed} connections; the bench needs {needed}")
    return allowed


def seed() -> dict[str, Any]:
    """Demo catalogue, one buyer (with a session and free patterns in the library) per simulated user."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connections
    from PIL import Image

    from catalog.models import Category, Pattern, User
    from payments import services as payment_services

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo")
    published = Pattern.objects.filter(status=Pattern.Status.PUBLISHED)
    free_ids = list(published.filter(price=0).values_list("pk", flat=True)[:3])
    sessions = []
    for index in range(USERS):
        buyer, created = User.objects.get_or_create(
            username=f"bench_buyer_{index}", defaults={"email": f"bench_buyer_{index}@example.com"}
        )
        if created:
            buyer.set_unusable_password()
            buyer.save(update_fields=["password"])
            if free_ids:
                payment_services.order_create(buyer=buyer, pattern_ids=free_ids)
        session = SessionStore()
        session[SESSION_KEY] = str(buyer.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = buyer.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    titles = list(published.values_list("title", flat=True))
    words = sorted({word.lower() for title in titles for word in title.split() if len(word) > 3})
    image = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(image, format="JPEG", quality=85)
    query_image = VAR / "query.jpg"
    query_image.write_bytes(image.getvalue())
    data = {
        "sessions": sessions,
        "categories": list(Category.objects.values_list("slug", flat=True)),
        "patterns": list(published.values_list("slug", flat=True)),
        "paid_patterns": list(published.filter(price__gt=0).values_list("pk", flat=True)),
        "words": words or ["pattern"],
        "image": str(query_image),
    }
    connections.close_all()
    return data


def warm_up(data: dict[str, Any]) -> None:
    """Load every lazily loaded piece (templates, the text and image models) in every gunicorn process
    before measuring: a production server is warm too. Concurrent requests spread over the processes."""
    from concurrent.futures import ThreadPoolExecutor

    patterns = data["patterns"]
    base = f"http://127.0.0.1:{WEB_PORT}"
    urls = ["/", "/search/?q=tile", f"/p/{patterns[0]}/"] if patterns else ["/", "/search/?q=tile"]

    def fetch(url: str) -> None:
        try:
            with urllib.request.urlopen(base + url, timeout=120) as response:  # noqa: S310 (loopback)
                response.read()
        except OSError as exc:
            log(f"warm-up {url}: {exc}")

    def image() -> None:
        boundary = "benchwarmup"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="q.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + Path(str(data["image"])).read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(  # noqa: S310 (loopback)
            base + "/api/v1/search/image/",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (loopback)
                response.read()
        except OSError as exc:
            log(f"warm-up image search: {exc}")

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS * 2) as pool:
        for _ in range(WORKERS * 3):
            for url in urls:
                pool.submit(fetch, url)
            pool.submit(image)
    log(f"warm-up done in {time.monotonic() - started:.0f} s")


def scrape_metrics() -> None:
    """/metrics of the same stack (multiprocess mode over the gunicorn and Celery processes)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/metrics", timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    responses = 0.0
    for line in text.splitlines():
        if line.startswith("django_http_responses_total_by_status_view_method_total{"):
            responses += float(line.rsplit(" ", 1)[1])
        elif line.startswith(("tessera_queue_depth{", "tessera_orders{", "tessera_celery_tasks_total{")):
            log(f"metrics: {line}")
    log(f"metrics: {responses:.0f} responses counted by /metrics over every gunicorn process")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(prefix: Path, *, duration: float) -> int:
    with open(f"{prefix}_stats.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] != "Aggregated"]
    errors: dict[str, dict[str, int]] = {}
    with open(f"{prefix}_failures.csv") as handle:
        for row in csv.DictReader(handle):
            errors.setdefault(row["Name"], {})[row["Error"]] = int(row["Occurrences"])
    floor = next((row for row in rows if row["Name"] == "floor"), None)
    floor_p50 = float(floor["50%"]) if floor else 0.0
    lines = [
        "## Load (`make bench-load`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine()}; load average after the run: "
        f"{load_average()}.",
        f"{USERS} locust users (5-15 s between clicks), {duration:.0f} s of load against gunicorn {WORKERS} x "
        f"{THREADS} threads with DEBUG off, a Celery worker, the embedded PostgreSQL and Redis and the Stripe "
        "emulator, all on this machine. The floor is a static file served by the same server in the same run.",
        "",
        "| Request kind | Requests | rps | p50 ms | p95 ms | p99 ms | p50 / floor | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    total_errors = 0
    slow = []
    for row in sorted(rows, key=lambda r: r["Name"]):
        name = row["Name"]
        kind_errors = errors.get(name, {})
        total_errors += sum(kind_errors.values())
        error_text = ", ".join(f"{error}: {count}" for error, count in sorted(kind_errors.items())) or "0"
        p50, p95, p99 = (float(row[key]) for key in ("50%", "95%", "99%"))
        ratio = f"{p50 / floor_p50:.1f}x" if floor_p50 else "-"
        lines.append(
            f"| {name} | {row['Request Count']} | {float(row['Requests/s']):.1f} | {p50:.0f} | {p95:.0f} | "
            f"{p99:.0f} | {ratio} | {error_text} |"
        )
        if name != "image_search" and p95 > 1000:
            slow.append(name)
    aggregated = sum(int(row["Request Count"]) for row in rows)
    lines.append(f"| all | {aggregated} | {aggregated / duration:.1f} | | | | | {total_errors} |")
    goal = total_errors == 0 and not slow
    verdict = "met" if goal else f"NOT met (errors: {total_errors}, p95 over 1 s: {', '.join(slow) or 'none'})"
    lines += ["", f"Goal (0 errors, p95 <= 1 s except image search): {verdict}."]
    print("\n".join(lines))
    write_section(ROOT / "docs" / "benchmarks.md", "## Load", "\n".join(lines))
    return 0 if goal else 1


def main() -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    logs = VAR / "log"
    logs.mkdir(exist_ok=True)
    from marketplace import devserver, embedded
    from marketplace.metrics import multiprocess_dir_prepare

    children: list[subprocess.Popen[bytes]] = []
    log(f"load average before: {load_average()}")
    started = time.monotonic()
    try:
        allowed = prepare_postgres()
        log(f"PostgreSQL max_connections {allowed}, at most {WORKERS * THREADS} persistent web connections")
        embedded.ensure_redis()
        children.append(
            devserver.start_localstripe(port=STRIPE_PORT, log_path=logs / "localstripe.log", from_scratch=True)
        )
        data = seed()
        (VAR / "locust-data.json").write_text(json.dumps(data))
        log(f"seeded: {len(data['patterns'])} published patterns, {len(data['sessions'])} buyers")
        multiprocess_dir_prepare(VAR / "prometheus")
        with open(logs / "worker.log", "ab") as worker_log:
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", devserver.QUEUES]
                    + ["--concurrency", "1", "--loglevel", "WARNING"],
                    cwd=ROOT,
                    stdout=worker_log,
                    stderr=subprocess.STDOUT,
                )
            )
        with open(logs / "gunicorn.log", "ab") as web_log:
            web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "marketplace.wsgi", "--bind", f"127.0.0.1:{WEB_PORT}"]
                + ["--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS)]
                + ["--timeout", "60", "--keep-alive", "75", "--config", "python:marketplace.gunicorn_metrics"],
                cwd=ROOT,
                stdout=web_log,
                stderr=subprocess.STDOUT,
            )
        children.append(web)
        wait_http(f"http://127.0.0.1:{WEB_PORT}/", timeout=90, process=web, logs=VAR / "log")
        devserver.register_localstripe_webhook(
            port=STRIPE_PORT,
            url=f"http://127.0.0.1:{WEB_PORT}/api/v1/stripe/webhook/",
            secret=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
        )
        warm_up(data)
        log(f"stack up in {time.monotonic() - started:.0f} s; load average {load_average()}; {SECONDS} s of load")
        prefix = VAR / "locust"
        load_started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
            + ["--host", f"http://127.0.0.1:{WEB_PORT}", "-u", str(USERS), "-r", str(max(1, USERS // 10))]
            + ["-t", f"{SECONDS}s", "--stop-timeout", "10", "--csv", str(prefix), "--only-summary"]
            + ["--loglevel", "WARNING"],
            cwd=ROOT,
            env={**os.environ, "BENCH_DATA": str(VAR / "locust-data.json")},
            check=False,
            timeout=SECONDS + 60,
        )
        duration = min(time.monotonic() - load_started, SECONDS)
        scrape_metrics()
        return report(prefix, duration=duration)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        embedded.stop_redis()
        embedded.stop_postgres()
        log(f"stack stopped; {time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    sys.exit(main())
