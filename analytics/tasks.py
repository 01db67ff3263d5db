"""Analytics tasks (queue ``default``): write the buffered page views and searches."""

from __future__ import annotations

from celery import shared_task

from analytics import services
from analytics.recommendations import services as recommendation_services


@shared_task(name="analytics.tasks.events_drain", acks_late=True, soft_time_limit=120, time_limit=150)
def events_drain() -> int:
    return services.events_drain(batch=1000)


@shared_task(
    name="analytics.tasks.recommendations_recompute",
    acks_late=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def recommendations_recompute() -> dict[str, object]:
    """Recompute every recommendation and swap the rows in (idempotent: a full recompute in one transaction)."""
    return recommendation_services.recommendations_recompute()
