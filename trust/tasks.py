"""Periodic restoration of countered takedowns. Thin: the service does the work (and is idempotent)."""

from __future__ import annotations

from celery import shared_task

from trust import services


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=120, time_limit=180)
def takedowns_restore_due() -> list[int]:
    return services.takedowns_restore_due()
