"""Analytics tasks (queue ``default``): write the buffered tracked events, roll them up, prune old raw events; the
demand rollups and weekly digests; the recommendations."""

from __future__ import annotations

from celery import shared_task

from analytics import rollups, services
from analytics.demand import digest as demand_digest
from analytics.demand import rollup as demand_rollup_service
from analytics.recommendations import services as recommendation_services


@shared_task(name="analytics.tasks.events_drain", acks_late=True, soft_time_limit=120, time_limit=150)
def events_drain() -> int:
    return services.events_drain(batch=1000)


# --- Demand gaps and trends (issue 13, h/demand) ---


@shared_task(name="analytics.tasks.demand_rollup", acks_late=True, soft_time_limit=600, time_limit=660)
def demand_rollup() -> int:
    """Rebuild today's and yesterday's demand rollups (yesterday: clicks that came after midnight)."""
    return demand_rollup_service.demand_rollup(days=2)


@shared_task(name="analytics.tasks.demand_digests", acks_late=True, soft_time_limit=600, time_limit=660)
def demand_digests() -> int:
    """This week's demand digests (idempotent per creator and ISO week)."""
    return demand_digest.demand_digests_record()


@shared_task(
    name="analytics.tasks.recommendations_recompute",
    acks_late=True,
    soft_time_limit=1800,
    time_limit=1900,
)
def recommendations_recompute() -> dict[str, object]:
    """Recompute every recommendation and swap the rows in (idempotent: a full recompute in one transaction)."""
    return recommendation_services.recommendations_recompute()


@shared_task(name="analytics.tasks.rollup_refresh", acks_late=True, soft_time_limit=240, time_limit=300)
def rollup_refresh() -> int:
    """Fold new raw events into the rollups (idempotent; a run while another works returns at once)."""
    return int(rollups.rollup_refresh()["events_read"])


@shared_task(name="analytics.tasks.events_prune", acks_late=True, soft_time_limit=1800, time_limit=1900)
def events_prune() -> int:
    """Delete raw events older than TESSERA_ANALYTICS_RAW_RETENTION_DAYS (rollups stay)."""
    return rollups.events_prune()
