"""A new version whose ingestion job was lost (the broker never took it, its worker died) does not stay
"processing" for ever: the reaper publishes or requeues it, and fails it with a reason after the last attempt."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import PatternVersion
from ingestion import services as ingestion_services
from ingestion import tasks as ingestion_tasks
from tests import samples
from tests.conftest import token_client
from tests.factories import PatternFactory, UserFactory

pytestmark = pytest.mark.django_db

NOTHING = {"versions_published": 0, "versions_requeued": 0, "versions_failed": 0}


def _age(version: PatternVersion, *, seconds: float) -> None:
    PatternVersion.objects.filter(pk=version.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


def _sends(callbacks: list[Any]) -> list[str]:
    """The after-commit publishes of a version's chain among ``callbacks`` (the outbox's drain kick aside)."""
    return [c.__qualname__ for c in callbacks if c.__qualname__ == "version_pipeline_enqueue.<locals>.send"]


def _row(version: PatternVersion) -> tuple[str, int, bool]:
    version.refresh_from_db()
    return version.status, version.processing_attempts, version.enqueued_at is not None


def test_a_lost_version_is_published_requeued_then_failed_and_the_creator_can_send_it_again(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.TESSERA_PROCESSING_MAX_ATTEMPTS = 2
    settings.TESSERA_INGEST_QUEUES = [f"test-ingest-{uuid.uuid4().hex}"]  # empty: no job waits in the broker
    creator = UserFactory.create()
    pattern = PatternFactory.create(creator=creator, with_file=samples.stl_cube())
    api = token_client(creator)
    # The creator sends version 2; its commit callback (the publish to the broker) never runs: the job is lost.
    with django_capture_on_commit_callbacks(execute=False) as lost:
        response = api.post(
            f"/api/v1/patterns/{pattern.pk}/versions/",
            {"files": [SimpleUploadedFile("model-v2.stl", samples.blob_stl())], "changelog": "Stronger hinge"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    assert len(_sends(lost)) == 1
    version = PatternVersion.objects.get(pattern=pattern, number=2)
    assert _row(version) == ("processing", 0, False)

    # Within the grace period nothing happens; after it, the never-published chain is published, at no attempt.
    assert ingestion_services.versions_requeue_stuck() == NOTHING
    _age(version, seconds=settings.TESSERA_UNQUEUED_AFTER_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert ingestion_services.versions_requeue_stuck() == {**NOTHING, "versions_published": 1}
    assert len(_sends(callbacks)) == 1
    assert _row(version) == ("processing", 0, False)
    assert ingestion_services.versions_requeue_stuck() == NOTHING  # touched: a full grace period again

    # The broker took it (what the callback records) and then lost it: no progress for the timeout.
    for attempt in (1, 2):
        PatternVersion.objects.filter(pk=version.pk).update(enqueued_at=timezone.now())
        _age(version, seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS - 60)
        assert ingestion_services.versions_requeue_stuck() == NOTHING  # still within the timeout
        _age(version, seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS + 1)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert ingestion_services.versions_requeue_stuck() == {**NOTHING, "versions_requeued": 1}
        assert len(_sends(callbacks)) == 1
        assert _row(version) == ("processing", attempt, False)

    PatternVersion.objects.filter(pk=version.pk).update(enqueued_at=timezone.now())
    _age(version, seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        # The task the beat runs, in-process: patterns have nothing to do, the version fails.
        outcome = ingestion_tasks.fail_stuck_patterns()
    assert {key: value for key, value in outcome.items() if key.startswith("versions_")} == {
        **NOTHING,
        "versions_failed": 1,
    }
    assert _sends(callbacks) == []  # nothing queued again
    assert _row(version)[:2] == ("failed", 2)
    reason = (
        "Processing version 2 stopped making progress 3 times and was given up. The current version stays on sale; "
        "send the files again as a new version, or contact support if they are very large."
    )
    assert version.status_reason == reason
    pattern.refresh_from_db()
    assert pattern.status == "published"  # the current version stayed on sale throughout
    assert ingestion_services.versions_requeue_stuck() == NOTHING

    # The creator sees why, and sends the files again as version 3.
    detail = api.get(f"/api/v1/patterns/{pattern.pk}/versions/2/").json()
    assert (detail["status"], detail["status_reason"]) == ("failed", reason)
    with django_capture_on_commit_callbacks(execute=False):
        again = api.post(
            f"/api/v1/patterns/{pattern.pk}/versions/",
            {"files": [SimpleUploadedFile("model-v3.stl", samples.blob_stl())], "changelog": "Stronger hinge"},
            format="multipart",
        )
    assert again.status_code == 201, again.content
    assert again.json() == {"number": 3, "status": "processing"}


def test_a_requeued_version_finishes_and_progress_keeps_it_from_the_reaper(settings: Any) -> None:
    """Requeueing is safe: the version's tasks run once more and finish it; a file processed is progress."""
    settings.TESSERA_INGEST_QUEUES = [f"test-ingest-{uuid.uuid4().hex}"]
    creator = UserFactory.create()
    pattern = PatternFactory.create(creator=creator, with_file=samples.stl_cube())
    response = token_client(creator).post(
        f"/api/v1/patterns/{pattern.pk}/versions/",
        {"files": [SimpleUploadedFile("model-v2.stl", samples.blob_stl())], "changelog": "Stronger hinge"},
        format="multipart",
    )
    assert response.status_code == 201
    version = PatternVersion.objects.get(pattern=pattern, number=2)
    PatternVersion.objects.filter(pk=version.pk).update(enqueued_at=timezone.now())
    _age(version, seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS + 1)
    # The (redelivered) file task runs: that is progress, so the reaper leaves the version alone.
    for pattern_file in version.files.all():
        ingestion_services.pattern_file_process(pattern_file_id=pattern_file.pk)
    assert ingestion_services.versions_requeue_stuck() == NOTHING
    # Then finalize, run twice as a requeue would: one outcome.
    for _ in range(2):
        ingestion_services.version_finalize(version_id=version.pk)
    assert _row(version) == ("needs_review", 0, True)
    _age(version, seconds=settings.TESSERA_PROCESSING_TIMEOUT_SECONDS + 1)
    assert ingestion_services.versions_requeue_stuck() == NOTHING  # only processing versions are swept
