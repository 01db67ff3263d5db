"""``make run``: the whole marketplace on embedded services, stopped together with Ctrl-C.

Starts (when not configured externally) PostgreSQL with pgvector, Redis and localstripe, applies
migrations, seeds demo data, then runs the web server, a Celery worker on every queue and Celery beat.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import FrameType

from marketplace import embedded

PYTHON = sys.executable
MANAGE = [PYTHON, str(embedded.BASE_DIR / "manage.py")]
QUEUES = "ingest,ingest_bulk,gpu,delivery,default"


def _log(message: str) -> None:
    sys.stdout.write(f"[tessera] {message}\n")
    sys.stdout.flush()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.3)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_localstripe(*, port: int, log_path: Path, from_scratch: bool = False) -> subprocess.Popen[bytes]:
    """Start the local Stripe API (and Stripe.js) and wait until it answers."""
    if _port_open(port):
        raise RuntimeError(f"port {port} is taken; set LOCALSTRIPE_PORT to a free port")
    command = [PYTHON, "-m", "marketplace.stripe_emulator", "--port", str(port)]
    if from_scratch:
        command.append("--from-scratch")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 20
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"localstripe did not start; see {log_path}")
        time.sleep(0.1)
    return process


def register_localstripe_webhook(*, port: int, url: str, secret: str) -> None:
    """Tell localstripe where to send signed events (it keeps this in memory only)."""
    data = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_config/webhooks/tessera", data=data)  # noqa: S310
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")
    port = int(os.environ.get("PORT", "8000"))
    logs = embedded.VAR_DIR / "log"
    logs.mkdir(parents=True, exist_ok=True)
    children: list[subprocess.Popen[bytes]] = []
    started_postgres = started_redis = False

    if not os.environ.get("DATABASE_URL"):
        started_postgres = not (embedded.postgres_data_dir() / "postmaster.pid").exists()
        embedded.ensure_postgres(os.environ.get("TESSERA_DATABASE_NAME", "tessera"))
        _log(f"PostgreSQL (embedded, pgvector) data in {embedded.postgres_data_dir()}")
    if not os.environ.get("REDIS_URL"):
        started_redis = not embedded.redis_socket().exists()
        embedded.ensure_redis()
        _log(f"Redis (embedded) at {embedded.redis_socket()}")

    def stop_all(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if started_redis:
            embedded.stop_redis()
        if started_postgres:
            embedded.stop_postgres()
        _log("stopped")

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not os.environ.get("STRIPE_SECRET_KEY"):
            stripe_port = int(os.environ.get("LOCALSTRIPE_PORT", "8420"))
            children.append(start_localstripe(port=stripe_port, log_path=logs / "localstripe.log"))
            register_localstripe_webhook(
                port=stripe_port,
                url=f"http://127.0.0.1:{port}/api/v1/stripe/webhook/",
                secret=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
            )
            _log(f"localstripe (Stripe API and Stripe.js) on http://127.0.0.1:{stripe_port}")
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], check=True)  # noqa: S603
        subprocess.run([*MANAGE, "seed_demo"], check=True)  # noqa: S603
        children.append(subprocess.Popen([*MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"]))  # noqa: S603
        celery = [PYTHON, "-m", "celery", "-A", "marketplace"]
        children.append(
            subprocess.Popen([*celery, "worker", "-Q", QUEUES, "--loglevel", "INFO", "--concurrency", "2"])  # noqa: S603
        )
        children.append(
            subprocess.Popen(  # noqa: S603
                [
                    *celery,
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(embedded.VAR_DIR / "celerybeat-schedule"),
                ]
            )
        )
        _log(
            f"\n\n  Tessera is running at http://127.0.0.1:{port}/\n"
            f"  Admin:   http://127.0.0.1:{port}/admin/    (admin / tessera-admin)\n"
            "  Creator: maker_mia / tessera-demo     Buyer: buyer_ben / tessera-demo\n"
            f"  API docs: http://127.0.0.1:{port}/api/docs/\n"
            "  Test card: 4242 4242 4242 4242. Press Ctrl-C to stop everything.\n"
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [child.args for child in children if child.poll() is not None]
        _log(f"a process exited unexpectedly: {failed}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
