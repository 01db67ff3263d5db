"""Faults (issue 9, items 12, 13 and the broker-outage part of 9): supervision, durable queues, the sweeper.

Outages here are real: the test Redis is shut down (broker and cache both), a supervised child and an
embedded Redis are killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from kombu import Queue

from catalog.models import Pattern
from delivery import services as delivery_services
from delivery.models import MarkedFile, Package
from delivery.tasks import DeliveryTask
from ingestion import services as ingestion_services
from ingestion.tasks import IngestTask
from marketplace import embedded
from marketplace.celery import app as celery_app
from marketplace.devserver import ChildProcess, Daemon, Supervisor
from marketplace.events.services import _kick_drain
from tests import samples
from tests.conftest import token_client, wait_for
from tests.factories import PatternFactory, UserFactory, paid_entitlement

# --- a real broker outage -------------------------------------------------------------------------


@pytest.fixture
def redis_outage() -> Iterator[None]:
    """Shut the test Redis down (the Celery broker and the Django cache); bring it back afterwards."""
    embedded.stop_redis(settings.REDIS_NAME)
    wait_for(lambda: not embedded.redis_alive(settings.REDIS_NAME), timeout=10, what="Redis to stop")
    try:
        yield
    finally:
        embedded.ensure_redis(settings.REDIS_NAME)


def _upload_fields(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "saved while the broker was down",
        "price": "0",
        "currency": "USD",
        "licence": "cc0",
        "files": [SimpleUploadedFile("cube.stl", samples.stl_cube())],
    }


@pytest.mark.django_db(transaction=True)
def test_upload_during_broker_outage_is_saved_then_swept_and_processed(
    client: Any, redis_outage: None, request: pytest.FixtureRequest
) -> None:
    creator = UserFactory.create()
    started = time.monotonic()
    api_response = token_client(creator).post("/api/v1/patterns/", _upload_fields("API cube"), format="multipart")
    client.force_login(creator)
    form_response = client.post("/sell/new/", _upload_fields("Form cube"), HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    elapsed = time.monotonic() - started

    # Both uploads succeed (no 500, no hang); the patterns are saved as received, their jobs not yet sent.
    assert api_response.status_code == 201, api_response.content
    assert form_response.status_code == 200, form_response.content
    assert elapsed < 10
    patterns = list(Pattern.objects.order_by("pk"))
    assert [(p.title, p.status, p.processing_step, p.enqueued_at) for p in patterns] == [
        ("API cube", "processing", "received", None),
        ("Form cube", "processing", "received", None),
    ]
    assert form_response.json() == {"redirect": f"/sell/patterns/{patterns[1].pk}/"}
    # The cache is down too: it misses instead of failing.
    assert cache.get("anything", "fallback") == "fallback"

    # The broker comes back: nothing was queued, so the sweeper must enqueue both, and a real worker runs them.
    embedded.ensure_redis(settings.REDIS_NAME)
    request.getfixturevalue("celery_worker_process")
    assert redis.Redis.from_url(settings.REDIS_CLIENT_URL).llen("ingest") == 0
    assert ingestion_services.patterns_requeue_stuck() == {"published": 0, "requeued": 0, "failed": 0}  # grace
    Pattern.objects.update(updated_at=timezone.now() - timedelta(seconds=settings.TESSERA_UNQUEUED_AFTER_SECONDS + 1))
    assert ingestion_services.patterns_requeue_stuck() == {"published": 2, "requeued": 0, "failed": 0}
    wait_for(
        lambda: set(Pattern.objects.values_list("status", flat=True)) == {"needs_review"},
        timeout=120,
        what="both patterns to be processed",
    )
    assert all(p.enqueued_at is not None and p.processing_attempts == 0 for p in Pattern.objects.all())
    assert ingestion_services.patterns_requeue_stuck() == {"published": 0, "requeued": 0, "failed": 0}


@pytest.mark.django_db(transaction=True)
def test_healthz_reports_each_dependency(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
    embedded.stop_redis(settings.REDIS_NAME)
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}
    finally:
        embedded.ensure_redis(settings.REDIS_NAME)


# --- the reaper and the sweepers ------------------------------------------------------------------


@pytest.mark.django_db
def test_reaper_requeues_stalled_patterns_then_fails_after_k_attempts(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TESSERA_PROCESSING_MAX_ATTEMPTS = 2
    settings.TESSERA_INGEST_QUEUES = [f"test-ingest-{uuid.uuid4().hex}"]  # empty: nothing waits
    stalled = PatternFactory.create(status=Pattern.Status.PROCESSING, enqueued_at=timezone.now())
    fresh = PatternFactory.create(status=Pattern.Status.PROCESSING, enqueued_at=timezone.now())
    never_sent = PatternFactory.create(status=Pattern.Status.PROCESSING, enqueued_at=None)
    done = PatternFactory.create(status=Pattern.Status.NEEDS_REVIEW, enqueued_at=timezone.now())
    long_ago = timezone.now() - timedelta(hours=2)

    def age(*patterns: Pattern) -> None:
        Pattern.objects.filter(pk__in=[p.pk for p in patterns]).update(updated_at=long_ago)

    for attempt in (1, 2):
        age(stalled, done, *([never_sent] if attempt == 1 else []))
        with django_capture_on_commit_callbacks() as callbacks:
            outcome = ingestion_services.patterns_requeue_stuck(older_than=timedelta(minutes=30))
        # The pattern whose job was never published is published once, and that costs it no attempt.
        assert outcome == {"published": 1 if attempt == 1 else 0, "requeued": 1, "failed": 0}
        assert len(callbacks) == (2 if attempt == 1 else 1)
        row = Pattern.objects.get(pk=stalled.pk)
        assert (row.status, row.processing_attempts, row.enqueued_at) == ("processing", attempt, None)
        assert Pattern.objects.get(pk=never_sent.pk).processing_attempts == 0
        # What the callbacks do once the broker took the jobs:
        Pattern.objects.filter(pk__in=[stalled.pk, never_sent.pk]).update(enqueued_at=timezone.now())

    age(stalled)
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = ingestion_services.patterns_requeue_stuck(older_than=timedelta(minutes=30))
    assert outcome == {"published": 0, "requeued": 0, "failed": 1}
    # Nothing is queued again; the only after-commit work is the outbox's drain of the pattern.failed event.
    assert callbacks == [_kick_drain]
    row = Pattern.objects.get(pk=stalled.pk)
    assert row.status == "failed"
    assert row.status_reason.startswith("Processing stopped making progress 3 times and was given up.")
    assert Pattern.objects.get(pk=fresh.pk).status == "processing"
    assert Pattern.objects.get(pk=done.pk).status == "needs_review"


@pytest.mark.django_db
def test_reaper_leaves_stalled_patterns_alone_while_ingestion_jobs_wait_in_the_broker(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    queue = f"test-ingest-{uuid.uuid4().hex}"
    settings.TESSERA_INGEST_QUEUES = [queue]
    stalled = PatternFactory.create(status=Pattern.Status.PROCESSING, enqueued_at=timezone.now())
    with celery_app.connection_for_write() as connection:
        connection.Producer().publish({"job": 1}, routing_key=queue, declare=[Queue(queue)])
    try:
        Pattern.objects.filter(pk=stalled.pk).update(updated_at=timezone.now() - timedelta(hours=2))
        with django_capture_on_commit_callbacks() as callbacks:
            outcome = ingestion_services.patterns_requeue_stuck(older_than=timedelta(minutes=30))
        assert outcome == {"published": 0, "requeued": 0, "failed": 0}
        assert callbacks == []
        assert Pattern.objects.get(pk=stalled.pk).processing_attempts == 0
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
    with django_capture_on_commit_callbacks() as callbacks:
        outcome = ingestion_services.patterns_requeue_stuck(older_than=timedelta(minutes=30))
    assert outcome == {"published": 0, "requeued": 1, "failed": 0}
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_delivery_sweeper_requeues_only_undelivered_entitlements(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.TESSERA_DELIVERY_QUEUES = [f"test-delivery-{uuid.uuid4().hex}"]
    buyer = UserFactory.create()
    published = {"status": Pattern.Status.PUBLISHED, "price": 500}
    lost, delivered, failed, recent = (PatternFactory.create(**published) for _ in range(4))
    lost_entitlement = paid_entitlement(buyer=buyer, pattern=lost)
    paid_entitlement(buyer=buyer, pattern=delivered, prepare=True)
    failed_entitlement = paid_entitlement(buyer=buyer, pattern=failed)
    MarkedFile.objects.create(
        entitlement=failed_entitlement, pattern_file=failed.files.get(), status=MarkedFile.Status.FAILED
    )
    from delivery.models import Entitlement

    Entitlement.objects.exclude(pattern=recent).update(created_at=timezone.now() - timedelta(hours=1))
    paid_entitlement(buyer=buyer, pattern=recent)

    with django_capture_on_commit_callbacks() as callbacks:
        assert delivery_services.entitlements_requeue_undelivered() == 1
    assert len(callbacks) == 1
    assert callbacks[0].args == (lost_entitlement.pk,)
    assert Package.objects.filter(entitlement__pattern=delivered, status=Package.Status.READY).count() == 1


# --- configuration of the broker ------------------------------------------------------------------


def test_visibility_timeout_covers_the_longest_redeliverable_task_and_no_more_than_needed() -> None:
    timeout = celery_app.conf.broker_transport_options["visibility_timeout"]
    longest = max(IngestTask.time_limit, DeliveryTask.time_limit, settings.CELERY_TASK_TIME_LIMIT)
    assert longest < timeout <= longest + 120
    assert timeout < 3600  # the kombu default an unacked job of a killed worker used to wait for


def test_enqueue_gives_up_quickly_when_the_broker_is_down() -> None:
    assert celery_app.conf.broker_connection_timeout <= 2
    policy = celery_app.conf.task_publish_retry_policy
    assert policy["max_retries"] <= 2
    assert settings.CELERY_BEAT_SCHEDULE["fail-stuck-processing"]["task"] == "ingestion.tasks.fail_stuck_patterns"
    assert settings.CELERY_BEAT_SCHEDULE["sweep-undelivered"]["task"] == "delivery.tasks.sweep_undelivered"


def test_embedded_redis_is_append_only_and_keeps_queued_jobs_across_kill_9() -> None:
    # The running test Redis (started before this change, or now) persists every second.
    client = redis.Redis.from_url(settings.REDIS_CLIENT_URL)
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "everysec"}

    name = "redis-aof-check"
    socket_path = embedded.ensure_redis(name)
    scratch = redis.Redis(unix_socket_path=socket_path)
    try:
        scratch.delete("ingest")
        scratch.lpush("ingest", "job-1", "job-2")
        time.sleep(1.5)  # appendfsync everysec
        pid = int((embedded.VAR_DIR / name / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not embedded.redis_alive(name), timeout=5, what="Redis to die")
        embedded.ensure_redis(name)
        assert scratch.lrange("ingest", 0, -1) == [b"job-2", b"job-1"]
    finally:
        embedded.stop_redis(name)


# --- the supervisor -------------------------------------------------------------------------------


def test_supervisor_restarts_only_the_killed_child_with_backoff() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    first, second = ChildProcess("dummy-a", command=sleeper), ChildProcess("dummy-b", command=sleeper)
    lines: list[str] = []
    supervisor = Supervisor([first, second], initial_delay=0.2, max_delay=0.8, stable_after=60, log=lines.append)
    supervisor.start_all()
    try:
        assert first.process is not None
        assert second.process is not None
        untouched = second.process.pid
        for restart, delay in ((1, "0.2"), (2, "0.4"), (3, "0.8"), (4, "0.8")):
            killed = first.process
            assert killed is not None
            killed.send_signal(signal.SIGKILL)
            killed.wait(timeout=5)
            supervisor.check()
            assert lines[-1] == f"dummy-a exited with -9; restarting in {delay} s (restart {restart})"
            assert not first.alive()
            started = time.monotonic()
            while not first.alive():
                supervisor.check()
                time.sleep(0.02)
            assert time.monotonic() - started >= float(delay) - 0.05
            assert first.process is not None
            assert first.process.pid != killed.pid
            assert lines[-1] == "dummy-a is running again"
        assert second.process.pid == untouched
        assert second.alive()
        assert not any("dummy-b" in line for line in lines)
    finally:
        supervisor.stop_all()
    assert not first.alive()
    assert not second.alive()


def test_supervisor_restarts_a_killed_embedded_redis() -> None:
    name = "redis-supervised-check"
    lines: list[str] = []
    daemon = Daemon(
        "redis",
        start_daemon=lambda: embedded.ensure_redis(name),
        probe=lambda: embedded.redis_alive(name),
        stop_daemon=lambda: embedded.stop_redis(name),
    )
    supervisor = Supervisor([daemon], initial_delay=0.1, log=lines.append)
    supervisor.start_all()
    try:
        pid = int((embedded.VAR_DIR / name / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)

        def restarted() -> bool:
            supervisor.check()
            return embedded.redis_alive(name)

        wait_for(restarted, timeout=15, interval=0.05, what="restart")
        assert lines[:2] == ["redis stopped answering; restarting in 0.1 s (restart 1)", "redis is running again"]
        assert int((embedded.VAR_DIR / name / "redis.pid").read_text()) != pid
    finally:
        supervisor.stop_all()
    assert not embedded.redis_alive(name)


@pytest.mark.django_db(transaction=True)
def test_requests_during_a_database_outage_answer_503_with_retry_after(
    client: Any, tmp_path: Any, settings: Any
) -> None:
    from django.db import connection

    creator = UserFactory.create()
    api = token_client(creator)
    original_host = connection.settings_dict["HOST"]
    connection.close()
    # A real refused connection: the server's socket directory is replaced by an empty one.
    connection.settings_dict["HOST"] = str(tmp_path)
    try:
        page = client.get("/")
        listing = api.get("/api/v1/patterns/")
        upload = api.post("/api/v1/patterns/", _upload_fields("During the outage"), format="multipart")
        health = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["HOST"] = original_host
    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert (listing.status_code, listing["Retry-After"]) == (503, "5")
    assert listing.json() == {
        "detail": "The service is briefly unavailable. Nothing was saved; please retry in a few seconds."
    }
    assert upload.status_code == 503
    assert health.status_code == 503
    assert health.json()["checks"] == {"database": "unavailable", "redis": "ok"}
    assert Pattern.objects.count() == 0


@pytest.mark.django_db
def test_a_task_stopped_by_an_outage_leaves_the_pattern_to_the_reaper() -> None:
    from kombu.exceptions import OperationalError as BrokerError

    from ingestion.tasks import finalize_pattern

    outage = PatternFactory.create(status=Pattern.Status.PROCESSING)
    bug = PatternFactory.create(status=Pattern.Status.PROCESSING)
    # The chain's next step could not be published while Redis restarted: not the file's fault.
    finalize_pattern.on_failure(BrokerError("connection refused"), "t1", (), {"pattern_id": outage.pk}, None)
    finalize_pattern.on_failure(ValueError("a bug"), "t2", (), {"pattern_id": bug.pk}, None)
    assert Pattern.objects.get(pk=outage.pk).status == "processing"
    assert Pattern.objects.get(pk=bug.pk).status == "failed"
