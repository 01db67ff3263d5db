"""Sending deliveries, on their own ``webhooks`` queue. Thin: the services do the work."""

from __future__ import annotations

import random

from celery import shared_task

from webhooks import services

# A retry due within this many seconds is enqueued with a countdown (below the broker's visibility timeout and
# services.LOST_AFTER_SECONDS); later ones are picked up by the sweep when they fall due.
COUNTDOWN_WITHIN_SECONDS = 600.0


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def delivery_send(delivery_id: int) -> str:
    try:
        outcome = services.delivery_send(delivery_id=delivery_id)
    except services.EndpointBusy:
        # The endpoint has all its slots in flight: come back shortly, behind other endpoints' sends, instead of
        # holding this worker while a slow receiver answers.
        services.delivery_enqueue(delivery_ids=[delivery_id], countdown=random.uniform(0.5, 2.0))  # noqa: S311
        return "busy"
    if outcome.retry_in is not None and outcome.retry_in <= COUNTDOWN_WITHIN_SECONDS:
        services.delivery_enqueue(delivery_ids=[delivery_id], countdown=outcome.retry_in)
    return outcome.status


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def deliveries_sweep() -> int:
    return services.deliveries_sweep()
