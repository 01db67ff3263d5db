"""`make bench-pages`: requests per second of the catalogue pages against a bare Django view, and their queries.

Starts its own stack under var/bench-pages/ (embedded PostgreSQL and Redis, gunicorn serving marketplace.wsgi
with DEBUG off, 2 processes, persistent database connections: the production-mode settings of bench_load.py),
seeds the demo catalogue and one signed-in buyer, then drives each page with `wrk` on loopback, one page at a
time, anonymous and signed in. The floor is a constant Django view (/_bench/floor, routed only for this bench)
measured in the same run, first and last. Query counts come from Django's test client in this process with
CaptureQueriesContext: the render (page cache off) and the response a visitor gets (page cache on, warm).
Ends with the cold page weight of an image and a mesh pattern page in headless Chromium (bench/page_weight.py).
Page views and searches are buffered in Redis by the requests; a thread here drains them into PostgreSQL every
TESSERA_EVENTS_DRAIN_SECONDS, as the Celery beat task does in production, so their writing is in the figures.

Environment: BENCH_WEB_PORT (8680), BENCH_WORKERS (2), BENCH_THREADS (4), BENCH_SECONDS per page (8),
BENCH_CONNECTIONS (16), BENCH_PAGE_CACHE (1: the anonymous page cache on; 0 to measure without it).
Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench-pages"))
WEB_PORT = int(os.environ.get("BENCH_WEB_PORT", "8680"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
BASE = f"http://127.0.0.1:{WEB_PORT}"

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DJANGO_DEBUG": "0",
        "TESSERA_VAR_DIR": str(VAR),
        "TESSERA_DATABASE_NAME": "tessera_bench_pages",
        "LOCALSTRIPE_PORT": os.environ.get("BENCH_STRIPE_PORT", "8689"),
        "PORT": str(WEB_PORT),
        "SITE_URL": BASE,
        "DATABASE_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "TESSERA_BENCH_FLOOR_VIEW": "1",
        "TESSERA_PAGE_CACHE": os.environ.get("BENCH_PAGE_CACHE", "1"),
        # One wrk client is one user at hundreds of requests a second: the API's per-user throttle would answer
        # most of them 429. The bench measures the pages, not the throttle.
        "TESSERA_THROTTLE_USER_RATE": "off",
        "TESSERA_THROTTLE_ANON_RATE": "off",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
)
sys.path.insert(0, str(ROOT))

from bench.bench_ingest import machine  # noqa: E402
from bench.serving import wait_http  # noqa: E402


def log(message: str) -> None:
    print(f"[bench-pages] {message}", flush=True)


@dataclass
class Page:
    name: str
    path: str


def seed() -> tuple[list[Page], str]:
    """Demo catalogue (idempotent); the pages to measure and a signed-in buyer's session key."""
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connections

    from catalog.models import FORMAT_FAMILIES, Category, Pattern, User

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo")
    published = Pattern.objects.filter(status=Pattern.Status.PUBLISHED).order_by("id")
    pages = [Page("home", "/"), Page("search", "/search/?q=planter")]
    for family, label in (("mesh", "mesh"), ("vector", "vector"), ("document", "PDF"), ("image", "image")):
        formats = [fmt for fmt, fam in FORMAT_FAMILIES.items() if fam == family]
        pattern = published.filter(files__format__in=formats).first()
        if pattern is not None:
            pages.append(Page(f"pattern ({label})", pattern.get_absolute_url()))
    category = Category.objects.filter(patterns__status=Pattern.Status.PUBLISHED).order_by("position").first()
    if category is not None:
        pages.append(Page("category", category.get_absolute_url()))
    pages.append(Page("API list", "/api/v1/patterns/"))
    buyer, created = User.objects.get_or_create(username="bench_pages_buyer", defaults={"email": "bp@example.com"})
    if created:
        buyer.set_unusable_password()
        buyer.save(update_fields=["password"])
    session = SessionStore()
    session[SESSION_KEY] = str(buyer.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = buyer.get_session_auth_hash()
    session.create()
    connections.close_all()
    return pages, str(session.session_key)


def query_counts(pages: list[Page]) -> dict[tuple[str, str], tuple[int, int]]:
    """(page, anonymous|signed in) -> (queries to render the page, queries of the response a visitor gets)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from catalog.models import User

    buyer = User.objects.get(username="bench_pages_buyer")
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for page in pages:
        for variant in ("anonymous", "signed in"):
            measured = []
            for cache_on in (False, True):
                with override_settings(TESSERA_PAGE_CACHE=cache_on and os.environ["TESSERA_PAGE_CACHE"] == "1"):
                    client = Client()
                    if variant == "signed in":
                        client.force_login(buyer)
                    client.get(page.path)  # warm: model loads, the page cache
                    with CaptureQueriesContext(connection) as queries:
                        response = client.get(page.path)
                    if response.status_code != 200:
                        raise RuntimeError(f"{page.path} answered {response.status_code}")
                    measured.append(len(queries))
            counts[(page.name, variant)] = (measured[0], measured[1])
    return counts


class Drainer(threading.Thread):
    """The analytics drain (analytics.tasks.events_drain) every few seconds while the pages are measured."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        from django.conf import settings
        from django.db import connection

        from analytics.services import events_drain

        try:
            while not self.stop.wait(settings.TESSERA_EVENTS_DRAIN_SECONDS):
                self.written += events_drain()
            self.written += events_drain()
        finally:
            connection.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(path: str, *, cookie: str = "", seconds: int = SECONDS) -> tuple[float, int, float]:
    """(requests/s, non-2xx responses, CPU seconds wrk itself used per second of load)."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    process = subprocess.Popen([*command, BASE + path], stdout=subprocess.PIPE, text=True)
    used = 0.0
    while process.poll() is None:
        try:
            used = cpu_seconds(process.pid)
        except (OSError, IndexError):
            pass
        time.sleep(0.2)
    output = process.stdout.read() if process.stdout else ""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed = int(bad.group(1)) if bad else 0
    if errors:
        failed += sum(int(n) for n in errors.groups())
    return (float(rate.group(1)) if rate else 0.0), failed, used / seconds


def main() -> int:
    if shutil.which("wrk") is None:
        log("wrk is not installed (Debian: apt-get install wrk)")
        return 2
    VAR.mkdir(parents=True, exist_ok=True)
    logs = VAR / "log"
    logs.mkdir(exist_ok=True)
    from marketplace import embedded

    started = time.monotonic()
    web: subprocess.Popen[bytes] | None = None
    drainer = Drainer()
    try:
        embedded.ensure_postgres("tessera_bench_pages")
        embedded.ensure_redis()
        pages, session_key = seed()
        log(f"seeded in {time.monotonic() - started:.0f} s; pages: {', '.join(p.path for p in pages)}")
        counts = query_counts(pages)
        from django.core.cache import cache
        from django.db import connections

        cache.clear()
        connections.close_all()
        with open(logs / "gunicorn.log", "ab") as web_log:
            web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "marketplace.wsgi", "--bind", f"127.0.0.1:{WEB_PORT}"]
                + ["--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS)]
                + ["--timeout", "60", "--keep-alive", "75"],
                cwd=ROOT,
                stdout=web_log,
                stderr=subprocess.STDOUT,
            )
        wait_http(BASE + "/_bench/floor", timeout=90, process=web, logs=VAR / "log", request_timeout=30)
        drainer.start()
        for page in pages:  # every process loads its templates and models before the clock starts
            for _ in range(WORKERS * 3):
                wait_http(BASE + page.path, timeout=120, process=web, logs=VAR / "log", request_timeout=30)
        wrk("/_bench/floor", seconds=2)
        floor_before, floor_bad, wrk_cpu = wrk("/_bench/floor")
        log(f"floor {floor_before:.0f} rps; wrk used {wrk_cpu:.2f} CPU s per s")
        results: dict[tuple[str, str], tuple[float, int, float]] = {}
        for page in pages:
            for variant, cookie in (("anonymous", ""), ("signed in", f"sessionid={session_key}")):
                # The floor right before each page too: other work on a shared machine moves both alike.
                adjacent_floor, _, _ = wrk("/_bench/floor", seconds=3)
                wrk(page.path, cookie=cookie, seconds=1)
                rate, bad, _ = wrk(page.path, cookie=cookie)
                results[(page.name, variant)] = (rate, bad, adjacent_floor)
                log(f"{page.name} {variant}: {rate:.0f} rps, {bad} failed; floor just before {adjacent_floor:.0f}")
        floor_after, floor_bad_after, _ = wrk("/_bench/floor")
        weights = page_weights(pages)
        drainer.stop.set()
        drainer.join(timeout=60)
        log(f"{drainer.written} analytics events drained into PostgreSQL during the run")
    finally:
        drainer.stop.set()
        if web is not None and web.poll() is None:
            web.send_signal(signal.SIGTERM)
            try:
                web.wait(timeout=20)
            except subprocess.TimeoutExpired:
                web.kill()
        embedded.stop_redis()
        embedded.stop_postgres()
    ceiling = floor_before / wrk_cpu if wrk_cpu else 0.0
    lines = [
        "## Page speed (`make bench-pages`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine()}; load average after the run: "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}.",
        f"gunicorn {WORKERS} processes x {THREADS} threads (gthread), DEBUG off, persistent connections, the embedded "
        f"PostgreSQL and Redis; `wrk -t1 -c{CONNECTIONS}`, {SECONDS} s per page on loopback, on the same cores. "
        f"Floor: a constant Django view through the whole middleware stack, {floor_before:.0f} rps before the pages "
        f"and {floor_after:.0f} after ({floor_bad + floor_bad_after} failed). wrk used {wrk_cpu:.2f} CPU s per s "
        f"at the floor, so it could drive about {ceiling:.0f} rps on one core: it is not the bottleneck. "
        f"Page cache: {'on' if os.environ['TESSERA_PAGE_CACHE'] == '1' else 'off'}.",
        "",
        "% of floor: against the floor measured for 3 s right before that page. Queries (render): the page "
        "rendered by the view; (served): what that visitor's request costs with the page cache warm.",
        "",
        "| Page | Visitor | rps | Floor just before | % of floor | Failed | Queries (render) | Queries (served) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for page in pages:
        for variant in ("anonymous", "signed in"):
            rate, bad, adjacent = results[(page.name, variant)]
            rendered, served = counts[(page.name, variant)]
            share = 100 * rate / adjacent if adjacent else 0.0
            lines.append(
                f"| {page.name} | {variant} | {rate:.0f} | {adjacent:.0f} | {share:.1f}% | {bad} | {rendered} | "
                f"{served} |"
            )
    if weights:
        lines += ["", "Cold page weight in Chromium (cache disabled, before the 3D viewer is opened):", ""]
        lines += [f"- {name}: {size / 1e6:.2f} MB in {requests} requests" for name, (size, requests) in weights.items()]
    print("\n".join(lines))
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


def page_weights(pages: list[Page]) -> dict[str, tuple[int, int]]:
    """Cold weight of the image and the mesh pattern pages, measured while the server still runs."""
    try:
        from bench.page_weight import page_weight
    except ImportError as exc:
        log(f"page weight skipped: {exc}")
        return {}
    weights = {}
    for page in pages:
        if page.name in ("pattern (image)", "pattern (mesh)"):
            weight = page_weight(BASE + page.path)
            weights[page.name] = (weight.transferred, weight.requests)
    return weights


if __name__ == "__main__":
    sys.exit(main())
