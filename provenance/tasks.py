"""Checkpoints on the default queue: after each append (on commit) and every TESSERA_PROVENANCE_CHECKPOINT_SECONDS
from beat. Thin and idempotent: a log that did not grow gets no new checkpoint, a stamped one no second stamp."""

from __future__ import annotations

from celery import shared_task

from provenance import services


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=150)
def checkpoint_publish() -> int | None:
    return services.checkpoint_publish_and_stamp()
