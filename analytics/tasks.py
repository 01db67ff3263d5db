"""Analytics tasks (queue ``default``): write the buffered tracked events, roll them up, prune old raw events."""

from __future__ import annotations

from celery import shared_task

from analytics import rollups, services


@shared_task(name="analytics.tasks.events_drain", acks_late=True, soft_time_limit=120, time_limit=150)
def events_drain() -> int:
    return services.events_drain(batch=1000)


@shared_task(name="analytics.tasks.rollup_refresh", acks_late=True, soft_time_limit=240, time_limit=300)
def rollup_refresh() -> int:
    """Fold new raw events into the rollups (idempotent; a run while another works returns at once)."""
    return int(rollups.rollup_refresh()["events_read"])


@shared_task(name="analytics.tasks.events_prune", acks_late=True, soft_time_limit=1800, time_limit=1900)
def events_prune() -> int:
    """Delete raw events older than TESSERA_ANALYTICS_RAW_RETENTION_DAYS (rollups stay)."""
    return rollups.events_prune()
