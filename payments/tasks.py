"""Payment tasks (queue ``default``): scheduled payouts and sending each one."""

from __future__ import annotations

from celery import shared_task
from stripe import APIConnectionError, RateLimitError

from payments import payouts


@shared_task(name="payments.tasks.payouts_run", acks_late=True, soft_time_limit=600, time_limit=660)
def payouts_run() -> int:
    return len(payouts.payouts_run())


@shared_task(
    name="payments.tasks.payout_send",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(APIConnectionError, RateLimitError),
    retry_backoff=True,
    max_retries=8,
    soft_time_limit=120,
    time_limit=150,
)
def payout_send(payout_id: int) -> None:
    payouts.payout_send(payout_id=payout_id)
