"""A real HTTP receiver on this machine (ports 8640-8649) that answers as a test scripts it and records what it
got, and a Celery worker with a thread pool for the per-endpoint concurrency cap."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent
PORTS = range(8640, 8650)


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    finished_at: float = 0.0


class Receiver:
    """Answers each request with the next scripted ``Reply`` (the last one repeats); records every request."""

    def __init__(self) -> None:
        self.server: ThreadingHTTPServer | None = None
        self.replies: list[Reply] = [Reply()]
        self.requests: list[Received] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tessera"

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def wait_for(self, count: int, *, timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.requests)} requests, not {count}")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            record = Received(path=self.path, headers=dict(self.headers.items()), body=body, at=time.monotonic())
            with receiver.lock:
                index = len(receiver.requests)
                receiver.requests.append(record)
                reply = receiver.replies[min(index, len(receiver.replies) - 1)]
                receiver.in_flight += 1
                receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
            try:
                time.sleep(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the sender gave up (timeout test)
            finally:
                with receiver.lock:
                    receiver.in_flight -= 1
                    record.finished_at = time.monotonic()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    return Handler


@pytest.fixture
def make_receiver() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def build() -> Receiver:
        receiver = Receiver()
        for port in PORTS:
            try:
                server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
            except OSError:
                continue
            break
        else:
            raise RuntimeError("no free port in 8640-8649 for a webhook receiver")
        server.daemon_threads = True
        receiver.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return receiver

    yield build
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(make_receiver: Any) -> Receiver:
    return make_receiver()  # type: ignore[no-any-return]


@pytest.fixture
def threaded_webhooks_worker(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker with 4 threads on the webhooks queue only (the shared fixture's worker is solo)."""
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "TESSERA_TEST_WORKER_DB": connection.settings_dict["NAME"],
    }
    celery = [sys.executable, "-m", "celery", "-A", "marketplace"]
    subprocess.run([*celery, "purge", "-f", "-Q", "webhooks"], env=env, cwd=ROOT, check=True, capture_output=True)
    log_path = Path(settings.VAR_DIR) / "log" / "celery-webhooks-test.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [*celery, "worker", "-Q", "webhooks", "--pool", "threads", "--concurrency", "4", "--loglevel", "INFO"],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
