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


@shared_task(
    name="payments.tasks.tax_transaction_record",
    acks_late=True,
    autoretry_for=(APIConnectionError, RateLimitError),
    retry_backoff=True,
    max_retries=8,
)
def tax_transaction_record(order_id: int) -> None:
    from payments.models import Order
    from payments.stripe_gateway import tax_transaction_create

    order = Order.objects.filter(pk=order_id).exclude(tax_calculation_id="").first()
    if order is None:
        return
    tax_transaction_create(calculation_id=order.tax_calculation_id, reference=f"order-{order.pk}")


@shared_task(
    name="payments.tasks.payment_card_record",
    acks_late=True,
    autoretry_for=(APIConnectionError, RateLimitError),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def payment_card_record(payment_id: int) -> None:
    from payments import services

    services.payment_card_record(payment_id=payment_id)
