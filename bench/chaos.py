"""``make chaos``: kill -9 each part of a running stack while work is in flight, and count what it cost.

Starts the supervised ``make run`` stack (marketplace/devserver.py) on loopback with its own data folder
(var/chaos/ by default: its own PostgreSQL, Redis and media, so a `make run` in progress is not touched),
drives uploads (API, maker_mia's token), purchases (API order + card confirmed against the Stripe emulator,
as payments.views.checkout_confirm_local does) and downloads (library API, signed links), and in turn
kills with SIGKILL: the Celery worker's main process, one of its pool children, Redis and PostgreSQL.

After each fault it waits until every service answers again, keeps the load on a little longer, lets the
work of that phase settle, and prints per fault:

- jobs lost: uploads accepted but failed for no fault of the file, and paid entitlements never delivered;
- jobs duplicated: side effects done twice, from database facts (two previews at one position of one file,
  two marked copies of one file for one entitlement, two sale ledger rows for one order, two entitlements
  for one order item);
- charged but unserved: orders whose PaymentIntent succeeded but that are not paid and fully delivered;
- patterns stuck: uploads still processing when the phase ends;
- recovery: seconds from the kill until the web health check, a worker ping, beat, the emulator all answer.

Bounded: loopback only, every wait has a deadline, the whole run takes a few minutes; the stack is
stopped at the end. Not part of the test suite (too slow).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "tessera-demo"  # noqa: S105 - the public demo accounts of ingestion/management/commands/seed_demo.py


def log(message: str) -> None:
    sys.stdout.write(f"[chaos] {message}\n")
    sys.stdout.flush()


# --- HTTP ----------------------------------------------------------------------------------------


def http(
    method: str,
    url: str,
    *,
    token: str = "",
    data: bytes | None = None,
    content_type: str = "",
    bearer: str = "",
    timeout: float = 20,
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback URLs only
    if token:
        request.add_header("Authorization", f"Token {token}")
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def stl_box(size: float) -> bytes:
    import trimesh

    mesh = trimesh.creation.box(extents=[size, size * 1.3, size * 0.7])
    exported = mesh.export(file_type="stl")
    return exported if isinstance(exported, bytes) else exported.encode()


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Phase:
    """The work started during one fault's phase, and how the requests went."""

    name: str
    patterns: list[int] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    charged: list[int] = field(default_factory=list)  # orders whose PaymentIntent succeeded
    codes: Counter[str] = field(default_factory=Counter)
    recovery_seconds: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, kind: str, status: int) -> None:
        with self.lock:
            self.codes[f"{kind}:{status}"] += 1


class Load:
    """Three loops (uploads, purchases, downloads) until stopped; each records into the current phase."""

    def __init__(self, *, base: str, stripe_base: str, maker_token: str, buyers: list[str], sellable: list[int]):
        self.base, self.stripe_base = base, stripe_base
        self.maker_token, self.buyers, self.sellable = maker_token, buyers, sellable
        self.phase = Phase("idle")
        self.running = threading.Event()
        self.threads: list[threading.Thread] = []
        self.upload_number = 0
        self.downloaders: list[str] = []

    def start(self, phase: Phase) -> None:
        self.phase = phase
        self.running.set()
        self.threads = [
            threading.Thread(target=self._loop, args=(self.upload, 4.0), daemon=True),
            threading.Thread(target=self._loop, args=(self.purchase, 2.0), daemon=True),
            threading.Thread(target=self._loop, args=(self.download, 1.0), daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.running.clear()
        for thread in self.threads:
            thread.join(timeout=60)

    def _loop(self, step: Any, pause: float) -> None:
        while self.running.is_set():
            step()
            time.sleep(pause)

    def upload(self) -> None:
        self.upload_number += 1
        body, content_type = multipart(
            {
                "title": f"Chaos part {self.upload_number} {uuid.uuid4().hex[:6]}",
                "description": "Uploaded while something was being killed.",
                "price": "300",
                "currency": "USD",
                "licence": "personal",
            },
            [("files", f"part-{self.upload_number}.stl", stl_box(10 + self.upload_number % 50))],
        )
        status, payload = http(
            "POST", f"{self.base}/api/v1/patterns/", token=self.maker_token, data=body, content_type=content_type
        )
        self.phase.count("upload", status)
        if status == 201:
            with self.phase.lock:
                self.phase.patterns.append(json.loads(payload)["id"])

    def purchase(self) -> None:
        if not self.buyers or not self.sellable:
            return
        token = self.buyers.pop()
        pattern_id = self.sellable[len(self.buyers) % len(self.sellable)]
        status, payload = http(
            "POST",
            f"{self.base}/api/v1/orders/",
            token=token,
            data=json.dumps({"pattern_ids": [pattern_id]}).encode(),
            content_type="application/json",
        )
        self.phase.count("order", status)
        if status != 201:
            return
        order = json.loads(payload)
        with self.phase.lock:
            self.phase.orders.append(order["id"])
        intent_id = str(order["client_secret"]).split("_secret_")[0]
        # What checkout_confirm_local does on the server: a card payment method, attached, then confirmed.
        card = urllib.parse.urlencode(
            {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2034"}
            | {"card[cvc]": "123"}
        ).encode()
        secret = "sk_test_localstripe"  # noqa: S105 - the emulator's public test key
        status, payload = http("POST", f"{self.stripe_base}/v1/payment_methods", bearer=secret, data=card)
        if status != 200:
            self.phase.count("confirm", status)
            return
        method = json.loads(payload)["id"]
        attach = urllib.parse.urlencode({"payment_method": method}).encode()
        http("POST", f"{self.stripe_base}/v1/payment_intents/{intent_id}", bearer=secret, data=attach)
        status, payload = http(
            "POST", f"{self.stripe_base}/v1/payment_intents/{intent_id}/confirm", bearer=secret, data=b""
        )
        self.phase.count("confirm", status)
        if status == 200 and json.loads(payload).get("status") == "succeeded":
            with self.phase.lock:
                self.phase.charged.append(order["id"])
            self.downloaders.append(token)  # this buyer now downloads their copy

    def download(self) -> None:
        tokens = self.downloaders[-20:]  # recent buyers, whose copies are being prepared or just ready
        if not tokens:
            return
        token = tokens[int(time.monotonic() * 7) % len(tokens)]
        status, payload = http("GET", f"{self.base}/api/v1/library/", token=token)
        self.phase.count("library", status)
        if status != 200:
            return
        listing = json.loads(payload)
        entries = listing.get("results", listing) if isinstance(listing, dict) else listing
        for entry in entries[:1]:
            url = entry.get("zip_url")
            if url:
                status, _ = http("GET", url, token=token)
                self.phase.count("download", status)


# --- the stack -----------------------------------------------------------------------------------


class Stack:
    """The devserver supervisor and the processes it runs, found by their command lines."""

    def __init__(self, *, port: int, stripe_port: int, var_dir: Path, env: dict[str, str]) -> None:
        self.port, self.stripe_port, self.var_dir, self.env = port, stripe_port, var_dir, env
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = var_dir / "log" / "chaos-devserver.log"

    def start(self, *, timeout: float) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "marketplace.devserver"],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not start; see {self.log_path}")
            time.sleep(1)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)

    def children(self) -> list[Any]:
        import psutil

        if self.process is None:
            return []
        return psutil.Process(self.process.pid).children(recursive=True)

    def find(self, *needles: str) -> list[Any]:
        import psutil

        found = []
        for child in self.children():
            try:
                line = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if all(needle in line for needle in needles):
                found.append(child)
        return found

    def worker_main(self) -> Any:
        """The Celery worker the supervisor started (its pool children, and orphans of a killed one, excluded)."""
        if self.process is None:
            raise RuntimeError("the stack is not running")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for worker in self.find("celery", " worker "):
                if self.process is not None and worker.ppid() == self.process.pid:
                    return worker
            time.sleep(0.5)
        raise RuntimeError("no Celery worker is running")

    def postmaster_pid(self) -> int:
        return int((self.var_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[0])

    def redis_pid(self) -> int:
        return int((self.var_dir / "redis" / "redis.pid").read_text().strip())

    def healthy(self) -> bool:
        status, _ = http("GET", f"http://127.0.0.1:{self.port}/healthz", timeout=3)
        return status == 200

    def every_service_answers(self) -> bool:
        if not self.healthy():
            return False
        if http("GET", f"http://127.0.0.1:{self.stripe_port}/v1/charges", bearer="sk_test_localstripe")[0] != 200:
            return False
        if not self.find("celery", " beat "):
            return False
        from marketplace.celery import app

        try:
            replies = app.control.ping(timeout=1.0)
        except Exception:  # noqa: BLE001 - kombu raises its own errors while the broker restarts
            return False
        return bool(replies)


# --- measuring -----------------------------------------------------------------------------------


def settle(phase: Phase, *, timeout: float) -> None:
    """Wait until the phase's work has reached a final state (or the deadline)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = measure(phase)
        if outcome["stuck"] == 0 and outcome["unserved"] == 0 and outcome["lost"] == 0:
            return
        time.sleep(2)


def measure(phase: Phase) -> dict[str, int]:
    """The phase's outcome from the database; retried while PostgreSQL restarts."""
    from django.db import Error, connection

    for _ in range(60):
        try:
            return _measure(phase)
        except Error:
            connection.close()
            time.sleep(1)
    raise RuntimeError("the database did not come back")


def _measure(phase: Phase) -> dict[str, int]:
    from django.db.models import Count

    from catalog.models import Pattern, Preview
    from delivery.models import Entitlement, MarkedFile, Package
    from payments.models import LedgerTransaction, Order

    patterns = Pattern.objects.filter(pk__in=phase.patterns)
    unexpected = ("Processing failed unexpectedly", "Processing stopped making progress", "Processing took longer")
    lost_patterns = sum(
        1
        for reason in patterns.filter(status=Pattern.Status.FAILED).values_list("status_reason", flat=True)
        if reason.startswith(unexpected)
    )
    stuck = patterns.filter(status=Pattern.Status.PROCESSING).count()
    entitlements = Entitlement.objects.filter(order_item__order_id__in=phase.orders, revoked_at__isnull=True)
    undelivered = entitlements.exclude(package__status=Package.Status.READY).count()
    charged = Order.objects.filter(pk__in=phase.charged)
    unserved = (
        charged.exclude(status=Order.Status.PAID).count() + charged.filter(items__entitlement__isnull=True).count()
    )
    duplicated = (
        Preview.objects.filter(pattern_id__in=phase.patterns)
        .values("pattern_file_id", "position")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
        + MarkedFile.objects.filter(entitlement__in=entitlements)
        .values("entitlement_id", "pattern_file_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
        + LedgerTransaction.objects.filter(order_id__in=phase.orders, kind=LedgerTransaction.Kind.SALE)
        .values("order_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "uploads": len(phase.patterns),
        "charged": len(phase.charged),
        "lost": lost_patterns + undelivered,
        "duplicated": duplicated,
        "unserved": unserved,
        "stuck": stuck,
    }


# --- the run -------------------------------------------------------------------------------------


def wait_idle(*, timeout: float) -> None:
    """Start from empty queues, so a phase measures its own work and not a backlog of an earlier run."""
    from marketplace.broker import queued_jobs
    from marketplace.devserver import QUEUES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = queued_jobs(QUEUES.split(","))
        if waiting == 0:
            return
        log(f"waiting for {waiting} queued jobs of an earlier run to finish")
        time.sleep(10)
    log("the queues did not drain; measuring anyway")


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare_actors(*, base: str, buyers: int) -> tuple[str, list[str], list[int], list[str]]:
    """maker_mia's token, fresh buyers' tokens (one order each), patterns for sale, buyer_ben's token."""
    from rest_framework.authtoken.models import Token

    from catalog.models import Pattern, User

    def token_for(username: str) -> str:
        status, payload = http(
            "POST",
            f"{base}/api/v1/auth/token/",
            data=json.dumps({"username": username, "password": PASSWORD}).encode(),
            content_type="application/json",
        )
        if status != 200:
            raise RuntimeError(f"could not log in as {username}: HTTP {status}")
        return str(json.loads(payload)["token"])

    maker = token_for("maker_mia")
    ben = token_for("buyer_ben")
    # One order per buyer: two orders of one buyer for one pattern are another issue (item 1), not a fault.
    run = uuid.uuid4().hex[:6]
    tokens = []
    for number in range(buyers):
        user = User.objects.create_user(username=f"chaos-{run}-{number}", email=f"chaos-{run}-{number}@example.com")
        tokens.append(Token.objects.create(user=user).key)
    sellable = list(
        Pattern.objects.filter(status=Pattern.Status.PUBLISHED, price__gt=0).values_list("pk", flat=True)[:20]
    )
    if not sellable:
        raise RuntimeError("no published paid pattern to buy; is the demo data seeded?")
    return maker, tokens, sellable, [ben]


FAULTS = ("worker main process", "worker pool child", "redis", "postgresql")


def kill(stack: Stack, fault: str) -> int:
    if fault == "worker main process":
        pid = int(stack.worker_main().pid)
    elif fault == "worker pool child":
        main_pid = stack.worker_main().pid
        pid = next(int(c.pid) for c in stack.find("celery", " worker ") if c.ppid() == main_pid)
    elif fault == "redis":
        pid = stack.redis_pid()
    else:
        pid = stack.postmaster_pid()
    os.kill(pid, signal.SIGKILL)
    return pid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=float, default=12, help="seconds of load before each kill")
    parser.add_argument("--after", type=float, default=12, help="seconds of load after the stack recovered")
    parser.add_argument("--settle", type=float, default=150, help="seconds the phase's work may take to finish")
    parser.add_argument("--idle-timeout", type=float, default=300, help="seconds to wait for an earlier backlog")
    parser.add_argument("--recovery-timeout", type=float, default=60)
    args = parser.parse_args()

    port = int(os.environ.get("PORT", "8000"))
    stripe_port = int(os.environ.get("LOCALSTRIPE_PORT", "8420"))
    var_dir = Path(os.environ.get("CHAOS_VAR_DIR", str(ROOT / "var" / "chaos"))).resolve()
    env = {
        **os.environ,
        "PORT": str(port),
        "LOCALSTRIPE_PORT": str(stripe_port),
        "TESSERA_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.local",
        "DJANGO_DEBUG": "0",
        "TESSERA_ACCESS_LOG": "0",
        # Short clocks for the sweepers so a lost job shows up (and is recovered) within the run.
        "TESSERA_SWEEP_INTERVAL_SECONDS": "5",
        "TESSERA_UNQUEUED_AFTER_SECONDS": "10",
        "TESSERA_PROCESSING_TIMEOUT_SECONDS": "45",
        "TESSERA_DELIVERY_STALLED_AFTER_SECONDS": "30",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY"):
        env.pop(name, None)
    stack = Stack(port=port, stripe_port=stripe_port, var_dir=var_dir, env=env)
    base = f"http://127.0.0.1:{port}"
    log(f"starting the supervised stack on {base} (data in {var_dir}; the first run seeds the demo data)")
    stack.start(timeout=900)
    results: list[tuple[str, dict[str, int], float | None, Counter[str]]] = []
    try:
        setup_django(env)
        maker, buyers, sellable, ben = prepare_actors(base=base, buyers=400)
        load = Load(
            base=base,
            stripe_base=f"http://127.0.0.1:{stripe_port}",
            maker_token=maker,
            buyers=buyers,
            sellable=sellable,
        )
        load.downloaders = ben
        wait_idle(timeout=args.idle_timeout)
        for fault in FAULTS:
            phase = Phase(fault)
            load.start(phase)
            time.sleep(args.before)
            pid = kill(stack, fault)
            killed_at = time.monotonic()
            log(f"kill -9 {fault} (pid {pid})")
            time.sleep(0.5)
            while not stack.every_service_answers():
                if time.monotonic() - killed_at > args.recovery_timeout:
                    break
                time.sleep(0.25)
            else:
                phase.recovery_seconds = time.monotonic() - killed_at
            log(f"  every service answers again after {phase.recovery_seconds or float('nan'):.1f} s")
            time.sleep(args.after)
            load.stop()
            settle(phase, timeout=args.settle)
            outcome = measure(phase)
            results.append((fault, outcome, phase.recovery_seconds, phase.codes))
            log(f"  {outcome} requests {dict(sorted(phase.codes.items()))}")
    finally:
        log("stopping the stack")
        stack.stop()
    print_table(results)
    failed = [
        r
        for r in results
        if r[1]["lost"] or r[1]["duplicated"] or r[1]["unserved"] or r[1]["stuck"] or not r[2] or r[2] >= 30
    ]
    return 1 if failed else 0


def print_table(results: list[tuple[str, dict[str, int], float | None, Counter[str]]]) -> None:
    """Print the table and write it, with the machine, as the chaos section of docs/benchmarks.md."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.bench_ingest import machine, write_section

    lines = [
        "## Chaos (`make chaos`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine()}: the supervised `make run` stack "
        "on loopback, with uploads, API orders paid at the Stripe emulator and library downloads in flight; each "
        "part killed with SIGKILL in turn. Recovery: seconds until /healthz, a worker ping, beat and the emulator "
        "all answer. The sweepers run on short clocks here (every 5 s; never-sent work after 10 s, stalled after "
        "45 s, undelivered copies after 30 s) so that lost work would show within the run. Goal: 0 lost, "
        "0 duplicated, 0 charged-but-unserved, 0 stuck, recovery under 30 s.",
        "",
        "| fault (kill -9) | uploads | paid orders | jobs lost | jobs duplicated | charged, unserved | "
        "patterns stuck | recovery (s) | 503 + Retry-After | other 5xx / refused |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for fault, outcome, recovery, codes in results:
        unavailable = sum(n for key, n in codes.items() if key.endswith(":503"))
        errors = (
            sum(n for key, n in codes.items() if key.endswith(":0") or key.split(":")[1].startswith("5")) - unavailable
        )
        recovered = f"{recovery:.1f}" if recovery is not None else "> timeout"
        lines.append(
            f"| {fault} | {outcome['uploads']} | {outcome['charged']} | {outcome['lost']} | {outcome['duplicated']} | "
            f"{outcome['unserved']} | {outcome['stuck']} | {recovered} | {unavailable} | {errors} |"
        )
    print()
    print("\n".join(lines))
    write_section(ROOT / "docs" / "benchmarks.md", "## Chaos", "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
