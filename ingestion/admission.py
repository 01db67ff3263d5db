"""Admission control for uploads: backpressure from the ingest queues and a per-creator hourly quota.

Checked before a request reads or stores any file, so a refused upload costs the server nothing but one
Redis round trip. Sizes of whole patterns decide which ingest queue they use (``ingest_queue_for``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis
from django.conf import settings

from marketplace.broker import broker_client, queue_depths
from marketplace.metrics import uploads_total

logger = logging.getLogger(__name__)

INGEST_QUEUE = "ingest"
INGEST_BULK_QUEUE = "ingest_bulk"
RATE_WINDOW_SECONDS = 3600


class UploadRefused(Exception):
    """The upload must not start now; ``retry_after`` seconds later it may."""

    status_code = 503
    verdict = "busy"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, int(retry_after))


class UploadsBusy(UploadRefused):
    status_code = 503
    verdict = "busy"


class UploadRateLimited(UploadRefused):
    status_code = 429
    verdict = "rate_limited"


def ingest_queue_for(*, total_bytes: int) -> str:
    """The queue for a pattern's ingestion: bulk-sized patterns wait on their own queue, behind each other
    only, so a small upload is never stuck behind a large one."""
    return INGEST_BULK_QUEUE if total_bytes >= settings.TESSERA_INGEST_BULK_BYTES else INGEST_QUEUE


def _check_queues(*, size_hint: int | None) -> None:
    try:
        depths = queue_depths([INGEST_QUEUE, INGEST_BULK_QUEUE])
    except redis.RedisError as exc:
        # Without the broker nothing could be queued either; the upload path reports that itself.
        logger.warning("upload admission: broker unreachable, queue depth unknown: %s", exc)
        return
    retry_after = settings.TESSERA_INGEST_BUSY_RETRY_AFTER_SECONDS
    busy = depths[INGEST_QUEUE] > settings.TESSERA_INGEST_QUEUE_HIGH_WATERMARK
    if size_hint is not None and ingest_queue_for(total_bytes=size_hint) == INGEST_BULK_QUEUE:
        busy = busy or depths[INGEST_BULK_QUEUE] > settings.TESSERA_INGEST_BULK_QUEUE_HIGH_WATERMARK
    if busy:
        logger.info("upload refused: ingest queues busy %s", depths)
        raise UploadsBusy(
            f"The marketplace is busy processing uploads; please retry in {retry_after} s.",
            retry_after=retry_after,
        )


def _count_upload(*, user: Any) -> None:
    key = f"tessera:upload-rate:{user.pk}"
    try:
        with broker_client().pipeline(transaction=True) as pipe:
            # The window starts with the first upload and lasts an hour; the key expires with it.
            pipe.set(key, 0, ex=RATE_WINDOW_SECONDS, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, started, seconds_left = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("upload admission: broker unreachable, quota not counted: %s", exc)
        return
    limit = settings.TESSERA_UPLOADS_PER_HOUR
    if started > limit:
        retry_after = seconds_left if seconds_left and seconds_left > 0 else RATE_WINDOW_SECONDS
        minutes = max(1, round(retry_after / 60))
        raise UploadRateLimited(
            f"You can start {limit} uploads per hour and have reached that limit; "
            f"please retry in {retry_after} s (about {minutes} min).",
            retry_after=retry_after,
        )


def upload_admit(*, user: Any, size_hint: int | None = None) -> None:
    """Let one upload (a new pattern or a resumable upload session) start, or raise ``UploadRefused``.

    ``size_hint`` is the upload's size in bytes when known (a session's declared size, a request body's
    length): bulk-sized uploads are also refused while the bulk queue is full. A busy refusal does not use
    the creator's quota; every admitted attempt does, whether its files pass the checks or not.
    """
    try:
        _check_queues(size_hint=size_hint)
        _count_upload(user=user)
    except UploadRefused as refusal:
        uploads_total.labels(verdict=refusal.verdict).inc()
        raise


def upload_verdict_record(*, accepted: bool) -> None:
    """Count an admitted upload once its files were checked: stored (accepted) or refused."""
    uploads_total.labels(verdict="accepted" if accepted else "refused").inc()


def upload_size_hint(meta: Mapping[str, Any]) -> int | None:
    """The request body's declared length (``request.META``), for ``upload_admit``; none when absent or garbled."""
    try:
        return int(meta.get("CONTENT_LENGTH") or "") or None
    except ValueError:
        return None
