"""Ingestion tasks: thin wrappers that take ids and call services. Queues: ``ingest``, ``ingest_bulk``."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, chain, shared_task
from celery.canvas import Signature
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from catalog.models import PatternFile
from ingestion import services
from marketplace.broker import infrastructure_errors

logger = logging.getLogger(__name__)


class IngestTask(Task):  # type: ignore[misc]
    """Records any unexpected failure on the pattern, so nobody waits on a silent error."""

    acks_late = True
    reject_on_worker_lost = True
    # PostgreSQL restarting (a crash, a failover) is not the file's fault: retry, then record a failure.
    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = 30
    max_retries = 5
    soft_time_limit = 600
    time_limit = 660

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        if isinstance(exc, infrastructure_errors()):
            # The broker or the database failed, not the file (e.g. the chain's next step could not be
            # published while Redis restarted): the reaper requeues the pattern instead of failing it.
            logger.warning("task %s stopped by an outage, left for the reaper: %s", task_id, exc)
            return
        version_id = kwargs.get("version_id")
        if version_id is None and kwargs.get("pattern_file_id") is not None:
            version_id = (
                PatternFile.objects.filter(pk=kwargs["pattern_file_id"], version__number__gt=1)
                .values_list("version_id", flat=True)
                .first()
            )
        if version_id is not None:
            # A new version's processing failed: that version fails; the pattern's current one stays on sale.
            services.version_fail(version_id=version_id, reason="Processing failed unexpectedly; send the files again.")
            return
        pattern_id = kwargs.get("pattern_id")
        if pattern_id is None and kwargs.get("pattern_file_id") is not None:
            pattern_id = (
                PatternFile.objects.filter(pk=kwargs["pattern_file_id"]).values_list("pattern_id", flat=True).first()
            )
        if pattern_id is None:
            return
        if isinstance(exc, SoftTimeLimitExceeded):
            reason = "Processing this file took too long and was stopped. Simplify or split the file and retry."
        else:
            reason = "Processing failed unexpectedly. Our team has been notified; you can retry the upload."
        services.pattern_fail(pattern_id=pattern_id, reason=reason)


@shared_task(base=IngestTask)
def process_file(*, pattern_file_id: int) -> None:
    services.pattern_file_process(pattern_file_id=pattern_file_id)


@shared_task(base=IngestTask)
def finalize_pattern(*, pattern_id: int) -> None:
    services.pattern_finalize(pattern_id=pattern_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=180)
def embed_pattern_text(*, pattern_id: int) -> None:
    services.pattern_embed_text(pattern_id=pattern_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def embed_pattern_images(*, pattern_id: int) -> None:
    services.pattern_embed_images(pattern_id=pattern_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=300, time_limit=360)
def embed_and_tag_pattern(*, pattern_id: int) -> None:
    from ingestion.tagging.service import pattern_tag

    pattern_tag(pattern_id=pattern_id)


def model_pipeline_signature(*, pattern_id: int) -> Signature:
    return chain(
        embed_and_tag_pattern.si(pattern_id=pattern_id),
        embed_pattern_images.si(pattern_id=pattern_id),
        embed_pattern_text.si(pattern_id=pattern_id),
    )


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def fit_tag_probes() -> int:
    from ingestion.tagging.probes import tag_probes_fit

    return tag_probes_fit()


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def fail_stuck_patterns() -> dict[str, int]:
    """The reaper and sweeper of ingestion (its beat entry keeps the old name): requeue, or fail after K tries,
    patterns and new versions alike; and of the model pipeline: requeue stalled tagging, or finish the step without
    automatic tags."""
    return {
        **services.patterns_requeue_stuck(),
        **services.patterns_tagging_requeue_stuck(),
        **services.versions_requeue_stuck(),
    }


@shared_task(acks_late=True)
def expire_upload_sessions() -> int:
    from ingestion.uploads import upload_sessions_expire

    return upload_sessions_expire()


def pipeline_signature(*, pattern_id: int, file_ids: list[int], queue: str = "ingest") -> Signature:
    """Validate every file, then finalize; every step on ``queue`` (``ingest`` or ``ingest_bulk``)."""
    steps = [process_file.si(pattern_file_id=file_id).set(queue=queue) for file_id in file_ids]
    return chain(*steps, finalize_pattern.si(pattern_id=pattern_id).set(queue=queue))


@shared_task(base=IngestTask)
def finalize_version(*, version_id: int) -> None:
    services.version_finalize(version_id=version_id)


def version_pipeline_signature(*, version_id: int, file_ids: list[int], queue: str = "ingest") -> Signature:
    """A new version: validate every file (the submission's file task), then finalize the version."""
    steps = [process_file.si(pattern_file_id=file_id).set(queue=queue) for file_id in file_ids]
    return chain(*steps, finalize_version.si(version_id=version_id).set(queue=queue))
