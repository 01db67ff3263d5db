"""Shared fixtures. Tests run on the embedded real PostgreSQL and a dedicated embedded Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from catalog.models import User
from marketplace import devserver, throttling
from tests.factories import StaffFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
# The headless-Chromium ``page`` fixture and axe-core helpers every browser test uses.
pytest_plugins = ["tests.browser"]


@pytest.fixture(scope="session", autouse=True)
def _clean_test_media() -> None:
    for folder in (settings.MEDIA_ROOT, settings.ORIGINALS_ROOT):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Before the test database is dropped, end connections that live-server threads left open."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True)
def _reference_data(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table, the migrated licences and categories too: put them back."""
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    elif "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        request.getfixturevalue("db")
    else:
        return
    from catalog.models import Category, Licence, TaxonomyTerm
    from catalog.reference_data import ensure_reference_data, ensure_taxonomy

    ensure_reference_data(Licence, Category)
    ensure_taxonomy(TaxonomyTerm)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def token_client(user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def user(db: None) -> User:
    return UserFactory.create()


@pytest.fixture
def staff(db: None) -> User:
    return StaffFactory.create()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """A real localstripe server on the port the test settings point Stripe at."""
    port = settings.LOCALSTRIPE_PORT
    process = devserver.start_localstripe(
        port=port, log_path=Path(settings.VAR_DIR) / "log" / "localstripe-test.log", from_scratch=True
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def celery_worker_process(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process consuming every queue from the test Redis, on the test database."""
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "TESSERA_TEST_WORKER_DB": connection.settings_dict["NAME"],
    }
    celery = [sys.executable, "-m", "celery", "-A", "marketplace"]
    subprocess.run(
        [*celery, "purge", "-f", "-Q", devserver.QUEUES],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    log_path = Path(settings.VAR_DIR) / "log" / "celery-test.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [*celery, "worker", "-Q", devserver.QUEUES, "--pool", "solo", "--loglevel", "INFO"],
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


@pytest.fixture
def worker_mail_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The worker process's e-mail backend: files in ``tmp_path`` (ask for it before ``celery_worker_process``, so
    the worker starts with it). The worker is another process: Django's locmem outbox here never sees its mail."""
    monkeypatch.setenv("TESSERA_EMAIL_PROVIDER", "file")
    monkeypatch.setenv("TESSERA_MAIL_DIR", str(tmp_path))
    return tmp_path


def wait_for(predicate, *, timeout: float = 90.0, interval: float = 0.3, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_CLIENT_URL)


@pytest.fixture(autouse=True)
def _fresh_throttles(_redis: redis.Redis) -> None:
    """Throttle counters (marketplace/throttling.py) live in Redis, which outlives a test: start with none."""
    keys = list(_redis.scan_iter(match=f"*{throttling.KEY_PREFIX}*", count=1000))
    if keys:
        _redis.delete(*keys)


@pytest.fixture(autouse=True)
def _empty_event_buffer(_redis: redis.Redis) -> None:
    """Tracked page views and searches (marketplace.tracking) wait in this process's queue and in Redis: none
    left from another test (the queue is emptied first, after any send in progress, then the Redis list).

    A test that reads page views or searches calls ``analytics.services.events_drain()`` first, as the beat
    task does every few seconds in production (it sends this process's queue to Redis first)."""
    from marketplace import tracking

    tracking.discard()
    _redis.delete(tracking.BUFFER_KEY)
