"""``make run``: the whole marketplace on embedded services, supervised, stopped together with Ctrl-C.

Starts (when not configured externally) PostgreSQL with pgvector, Redis and localstripe, applies
migrations, seeds demo data, then runs the web server (gunicorn), a Celery worker on every queue and
Celery beat. Every one of them is supervised: when one dies it alone is started again, after a delay that
doubles with each crash in a row (capped), while the others keep serving.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from marketplace import embedded

PYTHON = sys.executable
MANAGE = [PYTHON, str(embedded.BASE_DIR / "manage.py")]
# Every Celery queue the local worker consumes: the one list to extend when a queue is added.
QUEUES = "ingest,ingest_bulk,gpu,delivery,events,webhooks,notifications,default"

# Web server sizing for `make run`. Each gunicorn thread holds at most one persistent PostgreSQL connection,
# so the web tier uses at most WEB_WORKERS * WEB_THREADS connections however many users arrive (the others
# wait in the listen backlog): 2 * 8 = 16, plus the Celery worker (main + 2 pool processes) and beat, about
# 20 in all, well under the embedded PostgreSQL's max_connections (100).
WEB_WORKERS = int(os.environ.get("TESSERA_WEB_WORKERS", "2"))
WEB_THREADS = int(os.environ.get("TESSERA_WEB_THREADS", "8"))
WORKER_CONCURRENCY = int(os.environ.get("TESSERA_WORKER_CONCURRENCY", "2"))


def _log(message: str) -> None:
    sys.stdout.write(f"[tessera] {message}\n")
    sys.stdout.flush()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.3)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_localstripe(
    *, port: int, log_path: Path, from_scratch: bool = False, webhook_retries: bool = False
) -> subprocess.Popen[bytes]:
    """Start the local Stripe API (and Stripe.js) and wait until it answers.

    ``webhook_retries``: retry undelivered events with backoff for a few minutes, as Stripe does.
    """
    if _port_open(port):
        raise RuntimeError(f"port {port} is taken; set LOCALSTRIPE_PORT to a free port")
    command = [PYTHON, "-m", "marketplace.stripe_emulator", "--port", str(port)]
    if from_scratch:
        command.append("--from-scratch")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        env = {**os.environ, "TESSERA_EMULATOR_WEBHOOK_RETRIES": "1" if webhook_retries else "0"}
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)  # noqa: S603
    deadline = time.monotonic() + 20
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"localstripe did not start; see {log_path}")
        time.sleep(0.1)
    return process


def register_localstripe_webhook(*, port: int, url: str, secret: str) -> None:
    """Tell localstripe where to send signed events (it keeps this in memory only)."""
    data = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_config/webhooks/tessera", data=data)  # noqa: S310
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310
        pass


# --- supervision ----------------------------------------------------------------------------------


class Service(Protocol):
    """Something the supervisor keeps running."""

    name: str

    def start(self) -> None: ...

    def alive(self) -> bool: ...

    def exit_description(self) -> str: ...

    def stop(self) -> None: ...


@dataclass
class ChildProcess:
    """A child process (web, worker, beat): dead when it has exited."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] | None = None
    log_path: Path | None = None
    # For a child whose start must wait until it answers (localstripe): returns the running process.
    launcher: Callable[[], subprocess.Popen[bytes]] | None = None
    after_start: Callable[[], None] | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.launcher is not None:
            self.process = self.launcher()
        else:
            output: IO[bytes] | None = None
            if self.log_path is not None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                output = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it; closed below
            try:
                self.process = subprocess.Popen(  # noqa: S603
                    list(self.command),
                    env=dict(self.env) if self.env is not None else None,
                    stdout=output,
                    stderr=subprocess.STDOUT if output else None,
                )
            finally:
                if output is not None:
                    output.close()
        if self.after_start is not None:
            self.after_start()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_description(self) -> str:
        code = self.process.poll() if self.process is not None else None
        return f"exited with {code}"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@dataclass
class Daemon:
    """A server that detaches itself (embedded Redis and PostgreSQL): dead when its health probe fails."""

    name: str
    start_daemon: Callable[[], object]
    probe: Callable[[], bool]
    stop_daemon: Callable[[], None] | None = None
    # Stopped at the end only when this run started it (or started it again after it died).
    owned: bool = False

    def start(self) -> None:
        if not self.probe():
            self.owned = True
        self.start_daemon()

    def alive(self) -> bool:
        return self.probe()

    def exit_description(self) -> str:
        return "stopped answering"

    def stop(self) -> None:
        if self.owned and self.stop_daemon is not None:
            self.stop_daemon()


@dataclass
class _State:
    running: bool = False
    started_at: float = 0.0
    restarts: int = 0
    crashes_in_a_row: int = 0
    next_start_at: float | None = None


@dataclass
class Supervisor:
    """Keeps each service running on its own: a crash restarts only that service, after a backoff.

    The delay doubles with each crash in a row (``initial_delay``, 2x, 4x ... up to ``max_delay``); a
    service that stayed up ``stable_after`` seconds starts again from ``initial_delay``.
    """

    services: list[Service]
    initial_delay: float = 1.0
    max_delay: float = 30.0
    stable_after: float = 60.0
    log: Callable[[str], None] = _log
    clock: Callable[[], float] = time.monotonic
    states: dict[str, _State] = field(default_factory=dict)

    def start_all(self) -> None:
        for service in self.services:
            self.states[service.name] = _State()
            self._start(service)

    def _start(self, service: Service) -> None:
        state = self.states[service.name]
        try:
            service.start()
        except Exception as exc:  # noqa: BLE001 - whatever a start raises (psycopg2, redis, OS), try again later
            self._schedule_restart(service, f"failed to start ({type(exc).__name__}: {exc})")
            return
        state.running, state.started_at, state.next_start_at = True, self.clock(), None

    def _schedule_restart(self, service: Service, what: str) -> None:
        state = self.states[service.name]
        now = self.clock()
        if state.running and now - state.started_at >= self.stable_after:
            state.crashes_in_a_row = 0
        delay = min(self.initial_delay * 2**state.crashes_in_a_row, self.max_delay)
        state.crashes_in_a_row += 1
        state.restarts += 1
        state.running = False
        state.next_start_at = now + delay
        self.log(f"{service.name} {what}; restarting in {delay:g} s (restart {state.restarts})")

    def check(self) -> None:
        """One supervision pass: notice deaths, start what is due."""
        for service in self.services:
            state = self.states[service.name]
            if state.running:
                if not service.alive():
                    self._schedule_restart(service, service.exit_description())
            elif state.next_start_at is not None and self.clock() >= state.next_start_at:
                self._start(service)
                if state.running:
                    self.log(f"{service.name} is running again")

    def run(self, *, interval: float = 0.5, until: Callable[[], bool] = lambda: False) -> None:
        while not until():
            self.check()
            time.sleep(interval)

    def stop_all(self) -> None:
        """Stop in reverse order of start: the web server and workers before the services they use."""
        for service in reversed(self.services):
            try:
                service.stop()
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                self.log(f"could not stop {service.name}: {exc}")


# --- readiness ------------------------------------------------------------------------------------

# `make run` says "running" only once a text search and an image search each answer within this many seconds:
# the web workers load the models as they start (marketplace.wsgi), so the first visitor does not wait for them.
READY_WITHIN_S = 2.0


def _sample_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 160), "white")
    ImageDraw.Draw(image).ellipse((30, 20, 130, 140), outline="black", width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _timed_request(request: urllib.request.Request) -> float:
    """Seconds until ``request`` answered 200 (raises on any other answer or no answer)."""
    started = time.monotonic()
    # A generous timeout: a first search that loads a model in the request is measured, not abandoned.
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - our own loopback server
        response.read()
        if response.status != 200:
            raise urllib.error.HTTPError(request.full_url, response.status, "not ready", response.headers, None)
    return time.monotonic() - started


def search_requests(*, base_url: str) -> dict[str, urllib.request.Request]:
    """A text search (a query never seen, so its embedding is not cached) and an image search, as a visitor sends."""
    import secrets

    query = urllib.parse.urlencode({"q": f"readiness check {secrets.token_hex(4)}"})
    boundary = f"tessera{secrets.token_hex(8)}"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="ready.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + _sample_png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return {
        "search": urllib.request.Request(f"{base_url}/search/?{query}"),  # noqa: S310
        "image search": urllib.request.Request(  # noqa: S310
            f"{base_url}/api/v1/search/image/",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        ),
    }


def wait_until_searches_answer(
    *, base_url: str, supervisor: Supervisor | None = None, log: Callable[[str], None] = _log
) -> dict[str, float]:
    """Wait until the first text search and the first image search each answer 200 within READY_WITHIN_S.

    Returns the seconds each first answer took. Keeps supervising meanwhile; a search that answers but too slowly
    is sent again (fresh query) until it is fast, and reported.
    """
    first: dict[str, float] = {}
    started = time.monotonic()
    last_note = started
    up = False
    while True:
        if supervisor is not None:
            supervisor.check()
        try:
            if not up:
                # A web worker answers only once it has started (models loaded): time the searches from then on,
                # not the wait for the first worker.
                _timed_request(urllib.request.Request(f"{base_url}/healthz"))  # noqa: S310
                up = True
            timings = {name: _timed_request(request) for name, request in search_requests(base_url=base_url).items()}
        except (urllib.error.URLError, OSError) as exc:  # HTTPError is a URLError: not up yet, or not ready
            if time.monotonic() - last_note > 30:
                last_note = time.monotonic()
                log(f"waiting for the web server to answer searches ({exc}); {last_note - started:.0f} s so far")
            time.sleep(0.5)
            continue
        for name, seconds in timings.items():
            first.setdefault(name, seconds)
        slow = {name: seconds for name, seconds in timings.items() if seconds >= READY_WITHIN_S}
        if not slow:
            return first
        log("still warming up: " + ", ".join(f"{name} took {seconds:.2f} s" for name, seconds in slow.items()))
        time.sleep(0.5)


def web_command(*, port: int) -> list[str]:
    """gunicorn with threaded workers: a bounded number of threads, hence of database connections."""
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        "marketplace.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WEB_WORKERS),
        "--threads",
        str(WEB_THREADS),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--backlog",
        "2048",
    ]
    if os.environ.get("TESSERA_ACCESS_LOG", "1") == "1":
        command += ["--access-logfile", "-"]
    return command


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")
    port = int(os.environ.get("PORT", "8000"))
    logs = embedded.VAR_DIR / "log"
    logs.mkdir(parents=True, exist_ok=True)
    services: list[Service] = []
    database = os.environ.get("TESSERA_DATABASE_NAME", "tessera")
    started_postgres = started_redis = False

    if not os.environ.get("DATABASE_URL"):
        started_postgres = not embedded.postgres_alive()
        embedded.ensure_postgres(database)
        _log(f"PostgreSQL (embedded, pgvector) data in {embedded.postgres_data_dir()}")
        services.append(
            Daemon(
                "postgres",
                start_daemon=lambda: embedded.restart_postgres(database),
                probe=embedded.postgres_alive,
                stop_daemon=embedded.stop_postgres,
                owned=started_postgres,
            )
        )
    if not os.environ.get("REDIS_URL"):
        started_redis = not embedded.redis_alive()
        embedded.ensure_redis()
        _log(f"Redis (embedded, append-only) at {embedded.redis_socket()}")
        services.append(
            Daemon(
                "redis",
                start_daemon=embedded.ensure_redis,
                probe=embedded.redis_alive,
                stop_daemon=embedded.stop_redis,
                owned=started_redis,
            )
        )
    supervisor = Supervisor(services)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if not os.environ.get("STRIPE_SECRET_KEY"):
            stripe_port = int(os.environ.get("LOCALSTRIPE_PORT", "8420"))
            services.append(
                ChildProcess(
                    "localstripe",
                    command=[],
                    launcher=lambda: start_localstripe(
                        port=stripe_port, log_path=logs / "localstripe.log", webhook_retries=True
                    ),
                    # localstripe keeps its webhook endpoints in memory: register again on every start.
                    after_start=lambda: register_localstripe_webhook(
                        port=stripe_port,
                        url=f"http://127.0.0.1:{port}/api/v1/stripe/webhook/",
                        secret=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_localstripe"),
                    ),
                )
            )
            _log(f"localstripe (Stripe API and Stripe.js) on http://127.0.0.1:{stripe_port}")
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v", "0"], check=True)  # noqa: S603
        subprocess.run([*MANAGE, "seed_demo"], check=True)  # noqa: S603
        # Persistent, health-checked connections for the long-running processes (see WEB_WORKERS).
        child_env = {**os.environ, "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60")}
        celery = [PYTHON, "-m", "celery", "-A", "marketplace"]
        services += [
            ChildProcess("web", command=web_command(port=port), env=child_env),
            ChildProcess(
                "worker",
                command=[
                    *celery,
                    "worker",
                    "-Q",
                    QUEUES,
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    str(WORKER_CONCURRENCY),
                ],
                env=child_env,
            ),
            ChildProcess(
                "beat",
                command=[
                    *celery,
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(embedded.VAR_DIR / "celerybeat-schedule"),
                ],
                env=child_env,
            ),
        ]
        supervisor.services = services
        supervisor.start_all()
        started = time.monotonic()
        if not os.environ.get("STRIPE_SECRET_KEY"):
            # The demo creator's payouts, onboarded on the emulator (which forgets accounts when it stops): the
            # paid demo patterns waiting for payouts go on sale, as a real creator's would.
            subprocess.run([*MANAGE, "demo_payouts", "maker_mia"], check=True)  # noqa: S603
        first = wait_until_searches_answer(base_url=f"http://127.0.0.1:{port}", supervisor=supervisor)
        _log(
            f"ready {time.monotonic() - started:.1f} s after starting the web server: first search answered in "
            f"{first['search']:.2f} s, first image search in {first['image search']:.2f} s"
        )
        _log(
            f"\n\n  Tessera is running at http://127.0.0.1:{port}/\n"
            f"  Admin:   http://127.0.0.1:{port}/admin/    (admin / tessera-admin)\n"
            "  Creator: maker_mia / tessera-demo     Buyer: buyer_ben / tessera-demo\n"
            f"  API docs: http://127.0.0.1:{port}/api/docs/\n"
            "  Test card: 4242 4242 4242 4242. Press Ctrl-C to stop everything.\n"
        )
        supervisor.run()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.services = services
        supervisor.stop_all()
        _log("stopped")


if __name__ == "__main__":
    sys.exit(main())
