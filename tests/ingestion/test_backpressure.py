"""Admission control for uploads: 503 above the ingest watermark, 429 past a creator's hourly quota, and
bulk uploads on their own queue so a small one is never stuck behind them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from catalog.models import Licence, Pattern
from ingestion import submit
from ingestion.models import UploadSession
from marketplace.broker import broker_client, queue_keys
from marketplace.metrics import uploads_total
from tests import samples
from tests.conftest import token_client, wait_for
from tests.factories import UserFactory

QUEUES = ("ingest", "ingest_bulk")


@pytest.fixture(autouse=True)
def _empty_ingest_queues() -> Iterator[None]:
    """No worker runs in most of these tests: start and end with empty ingest queues and fresh quotas."""
    client = broker_client()

    def clear() -> None:
        client.delete(*[key for queue in QUEUES for key in queue_keys(queue)])
        stale = list(client.scan_iter("tessera:upload-rate:*"))
        if stale:
            client.delete(*stale)

    clear()
    yield
    clear()


def _fill(queue: str, count: int) -> None:
    broker_client().lpush(queue, *[f"placeholder-{i}" for i in range(count)])


def _verdict(name: str) -> float:
    return uploads_total.labels(verdict=name)._value.get()


def _pattern_post(client: Any, **fields: Any) -> Any:
    data = {
        "title": "Tiles",
        "description": "",
        "price": 0,
        "currency": "USD",
        "licence": "cc0",
        "files": [SimpleUploadedFile("cube.stl", samples.stl_cube())],
        **fields,
    }
    return client.post("/api/v1/patterns/", data, format="multipart")


@pytest.mark.django_db
def test_uploads_answer_503_with_retry_after_above_the_ingest_watermark(settings: Any) -> None:
    settings.TESSERA_INGEST_QUEUE_HIGH_WATERMARK = 3
    settings.TESSERA_INGEST_BUSY_RETRY_AFTER_SECONDS = 45
    creator = UserFactory.create()
    client = token_client(creator)
    _fill("ingest", 4)
    busy_before = _verdict("busy")

    response = _pattern_post(client)
    assert response.status_code == 503
    assert response["Retry-After"] == "45"
    assert response.json() == {
        "detail": "The marketplace is busy processing uploads; please retry in 45 s.",
        "retry_after": 45,
    }
    session = client.post("/api/v1/uploads/", {"filename": "big.stl", "size": 1000}, format="json")
    assert session.status_code == 503
    assert session["Retry-After"] == "45"
    assert not Pattern.objects.exists()
    assert not UploadSession.objects.exists()
    assert _verdict("busy") == busy_before + 2

    # At the watermark (not above it) uploads are taken again.
    broker_client().rpop("ingest")
    assert _pattern_post(client).status_code == 201
    assert Pattern.objects.count() == 1


@pytest.mark.django_db
def test_busy_form_keeps_what_the_creator_typed_and_says_when_to_retry(client: Any, settings: Any) -> None:
    settings.TESSERA_INGEST_QUEUE_HIGH_WATERMARK = 0
    creator = UserFactory.create()
    client.force_login(creator)
    _fill("ingest", 1)
    kept = str(uuid.uuid4())
    form = {
        "title": "Hexagon tiles",
        "description": "Twelve tiles that tessellate.",
        "licence": "personal",
        "price": "4.50",
        "currency": "EUR",
        "tags": "hexagon, tile",
        "uploads": [kept, "not-a-session-id"],
        "files": SimpleUploadedFile("cube.stl", samples.stl_cube()),
    }

    page = client.post("/sell/new/", form)
    assert page.status_code == 503
    assert page["Retry-After"] == "30"
    html = page.content.decode()
    assert "The marketplace is busy processing uploads; please retry in 30 s." in html
    assert "choose your files again" in html
    assert 'value="Hexagon tiles"' in html
    assert "Twelve tiles that tessellate." in html
    assert 'value="4.50"' in html
    assert '<option value="EUR" selected>' in html
    assert '<option value="personal" selected>' in html
    assert f'<input type="hidden" name="uploads" value="{kept}" id="id_uploads_0">' in html
    assert "not-a-session-id" not in html

    xhr = client.post("/sell/new/", form, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert xhr.status_code == 503
    assert xhr["Retry-After"] == "30"
    assert xhr.json()["errors"]["__all__"][0]["message"].startswith("The marketplace is busy processing uploads")
    assert not Pattern.objects.exists()


@pytest.mark.django_db
def test_a_full_bulk_queue_refuses_bulk_uploads_only(settings: Any) -> None:
    settings.TESSERA_INGEST_BULK_QUEUE_HIGH_WATERMARK = 1
    settings.TESSERA_INGEST_BULK_BYTES = 10_000
    client = token_client(UserFactory.create())
    _fill("ingest_bulk", 2)

    assert client.post("/api/v1/uploads/", {"filename": "big.stl", "size": 20_000}, format="json").status_code == 503
    assert client.post("/api/v1/uploads/", {"filename": "mid.stl", "size": 9_000}, format="json").status_code == 201
    assert _pattern_post(client).status_code == 201
    assert UploadSession.objects.count() == 1


@pytest.mark.django_db
def test_a_creator_past_the_hourly_quota_gets_429_and_others_do_not(settings: Any) -> None:
    settings.TESSERA_UPLOADS_PER_HOUR = 2
    creator = UserFactory.create()
    client = token_client(creator)
    limited_before = _verdict("rate_limited")

    assert client.post("/api/v1/uploads/", {"filename": "a.stl", "size": 10}, format="json").status_code == 201
    assert _pattern_post(client).status_code == 201
    third = client.post("/api/v1/uploads/", {"filename": "c.stl", "size": 10}, format="json")
    assert third.status_code == 429
    retry_after = int(third["Retry-After"])
    assert 3590 <= retry_after <= 3600
    assert third.json()["detail"].startswith("You can start 2 uploads per hour and have reached that limit")
    assert _pattern_post(client).status_code == 429
    assert UploadSession.objects.filter(user=creator).count() == 1
    assert Pattern.objects.filter(creator=creator).count() == 1
    assert _verdict("rate_limited") == limited_before + 2

    other = token_client(UserFactory.create())
    assert other.post("/api/v1/uploads/", {"filename": "d.stl", "size": 10}, format="json").status_code == 201


def _create(creator: Any, name: str, content: bytes) -> Pattern:
    return submit.pattern_create(
        creator=creator,
        title=name,
        description="",
        price=0,
        currency="USD",
        licence=Licence.objects.get(code="cc0"),
        uploads=[SimpleUploadedFile(name, content)],
    )


@pytest.fixture
def worker_metrics_dir(
    request: pytest.FixtureRequest, transactional_db: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    """A real worker whose task counters go to a multiprocess metrics directory (set before it starts)."""
    path = tmp_path / "prometheus"
    path.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(path))
    request.getfixturevalue("celery_worker_process")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    return path


@pytest.mark.e2e
def test_a_small_upload_is_processed_while_bulk_ones_wait(worker_metrics_dir: Path, settings: Any) -> None:
    """Two bulk patterns are queued before a small one; with one worker the small one still finishes first.

    On a single FIFO queue it would finish last (behind both bulk chains). The worker also counts its task
    outcomes in a multiprocess metrics directory, read here as /metrics would.
    """
    small_file = samples.stl_cube(7.0)
    bulk_files = [samples.obj_sphere(), samples.blob_stl()]
    settings.TESSERA_INGEST_BULK_BYTES = len(small_file) + 1
    assert all(len(content) > len(small_file) for content in bulk_files)
    creator = UserFactory.create()

    with transaction.atomic():  # every chain is sent at commit, bulk ones first
        bulk = [_create(creator, f"bulk-{i}.{('obj', 'stl')[i]}", content) for i, content in enumerate(bulk_files)]
        small = _create(creator, "small.stl", small_file)
    from marketplace.celery import app

    app.send_task("ingestion.tasks.expire_upload_sessions", kwargs={"unexpected": 1}, queue="default")

    done = wait_for(
        lambda: Pattern.objects.exclude(status=Pattern.Status.PROCESSING).filter(pk=small.pk).exists(),
        timeout=90,
        interval=0.05,
        what="the small pattern to be processed",
    )
    assert done
    # The bulk chains still wait (behind the small pattern's model tasks, in turn): nothing overtook it.
    assert list(Pattern.objects.filter(pk__in=[p.pk for p in bulk]).values_list("status", flat=True)) == [
        Pattern.Status.PROCESSING,
        Pattern.Status.PROCESSING,
    ]

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(worker_metrics_dir))  # type: ignore[no-untyped-call]

    def tasks(name: str, state: str) -> float | None:
        return registry.get_sample_value("tessera_celery_tasks_total", {"task": name, "state": state})

    # The small pattern's steps were counted as they succeeded; the malformed task as failed. The count is written
    # when the task has returned, a moment after its transaction committed the status read above: wait for it.
    assert (tasks("ingestion.tasks.process_file", "succeeded") or 0) >= 1.0
    wait_for(lambda: (tasks("ingestion.tasks.finalize_pattern", "succeeded") or 0) >= 1.0, what="the finalize counted")
    wait_for(lambda: tasks("ingestion.tasks.expire_upload_sessions", "failed") == 1.0, what="the failure counted")
    assert tasks("ingestion.tasks.process_file", "failed") is None
