"""Search by image with an untrusted photo, bounded in size, in memory and in how many run at once.

The query image is decoded in the web process (the embedding model lives there), so each search is
limited three ways before it can hurt anyone else's request:

- size: the header alone decides 413 (too many pixels, or a side too long) or 400 (not an image);
  ``catalog.vision.query_image_load`` then decodes JPEG scaled down and anything else within a
  decoded-pixel budget, so memory stays bounded whatever the file claims.
- concurrency, across processes: at most ``TESSERA_IMAGE_SEARCH_CONCURRENCY`` searches at once on the
  whole deployment, counted in Redis. A process-local semaphore would let ``workers × N`` searches run
  under gunicorn (and more with every host added), which is what exhausts the CPU and memory of the box.
  Each slot is a sorted-set member scored with its expiry, so a worker killed mid-search frees its slot
  after the lease instead of leaking it forever.
- concurrency, per process: at most ``TESSERA_IMAGE_SEARCH_PER_PROCESS`` at once in one process
  (threaded workers). This bounds one worker's peak memory even when Redis is unreachable, in which case
  the search still runs under this cap alone (logged) rather than failing.

A full cap answers 503 with ``Retry-After`` at once (non-blocking acquire): queueing uploads of 20 MB in
web threads would only move the overload somewhere less visible.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from django.conf import settings

from catalog import selectors
from catalog.models import Pattern
from catalog.vision import QueryImageRejected, query_image_load
from marketplace.broker import broker_client, lease_return, lease_take

logger = logging.getLogger(__name__)

SLOTS_KEY = "tessera:image-search:slots"


class ImageSearchRefused(Exception):
    """The search cannot run; ``status`` is the HTTP answer (400, 413 or 503) and the message says why."""

    def __init__(self, message: str, *, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


_local_slots: dict[int, threading.BoundedSemaphore] = {}
_guard = threading.Lock()


def _local_semaphore() -> threading.BoundedSemaphore:
    limit = settings.TESSERA_IMAGE_SEARCH_PER_PROCESS
    with _guard:
        return _local_slots.setdefault(limit, threading.BoundedSemaphore(limit))


def _busy() -> ImageSearchRefused:
    retry_after = settings.TESSERA_IMAGE_SEARCH_RETRY_AFTER_SECONDS
    return ImageSearchRefused(
        f"Image search is busy right now. Try again in {retry_after} seconds.", status=503, retry_after=retry_after
    )


@contextmanager
def image_search_slot() -> Iterator[None]:
    """Hold one image-search slot (per process and deployment-wide) or raise a 503 ``ImageSearchRefused``."""
    local = _local_semaphore()
    if not local.acquire(blocking=False):
        raise _busy()
    token = uuid.uuid4().hex
    client = broker_client(timeout=0.5)
    shared = True
    try:
        try:
            acquired = lease_take(
                client,
                key=SLOTS_KEY,
                limit=settings.TESSERA_IMAGE_SEARCH_CONCURRENCY,
                seconds=settings.TESSERA_IMAGE_SEARCH_LEASE_SECONDS,
                token=token,
            )
        except redis.RedisError as exc:
            logger.warning("image search: Redis unreachable (%s); only the per-process cap applies", exc)
            acquired, shared = True, False
        if not acquired:
            raise _busy()
        try:
            yield
        finally:
            if shared:
                try:
                    lease_return(client, key=SLOTS_KEY, token=token)
                except redis.RedisError as exc:
                    logger.warning("image search: slot %s not released (%s); it expires with its lease", token, exc)
    finally:
        local.release()


def pattern_search_by_upload(*, upload: Any) -> list[tuple[Pattern, float]]:
    """Published patterns that look like the uploaded image, best first. Raises ``ImageSearchRefused``."""
    max_bytes = settings.TESSERA_IMAGE_SEARCH_MAX_BYTES
    if upload.size > max_bytes:
        raise ImageSearchRefused(
            f"The image is larger than {max_bytes // 1024**2} MB. Choose a smaller one.", status=413
        )
    with image_search_slot():
        temporary_path = getattr(upload, "temporary_file_path", None)
        try:
            image = query_image_load(
                Path(temporary_path()) if temporary_path else upload.file,
                max_pixels=settings.TESSERA_IMAGE_SEARCH_MAX_PIXELS,
                max_side=settings.TESSERA_IMAGE_SEARCH_MAX_SIDE,
                max_decoded_pixels=settings.TESSERA_IMAGE_SEARCH_MAX_DECODED_PIXELS,
            )
        except QueryImageRejected as exc:
            raise ImageSearchRefused(str(exc), status=413 if exc.too_large else 400) from exc
        return selectors.pattern_search_by_image(image=image)
