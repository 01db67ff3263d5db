"""Analytics tasks (queue ``default``): write the buffered page views and searches."""

from __future__ import annotations

from celery import shared_task

from analytics import services


@shared_task(name="analytics.tasks.events_drain", acks_late=True, soft_time_limit=120, time_limit=150)
def events_drain() -> int:
    return services.events_drain(batch=1000)
