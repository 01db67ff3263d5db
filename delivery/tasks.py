"""Delivery tasks (queue ``delivery``): personal copies, zips. Thin: ids in, services do the work."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from delivery import services
from delivery.models import Entitlement, MarkedFile
from marketplace.broker import infrastructure_errors
from payments.models import Order

logger = logging.getLogger(__name__)


class DeliveryTask(Task):  # type: ignore[misc]
    """Marks the buyer's copies failed with a reason when preparing them fails, so no page waits forever."""

    acks_late = True
    reject_on_worker_lost = True
    # PostgreSQL restarting (a crash, a failover) is not the file's fault: retry, then record a failure.
    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = 30
    max_retries = 5
    soft_time_limit = 900
    time_limit = 960

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        entitlement_id = kwargs.get("entitlement_id", args[0] if args else None)
        if entitlement_id is None or self.name != prepare_entitlement.name:
            return
        if isinstance(exc, infrastructure_errors()):
            # An outage, not the file: the copies stay pending and the delivery sweeper prepares them again.
            logger.warning("task %s stopped by an outage, left for the sweeper: %s", task_id, exc)
            return
        for marked in MarkedFile.objects.filter(entitlement_id=entitlement_id, status=MarkedFile.Status.PENDING):
            services.marked_file_fail(marked_file_id=marked.pk, error="Preparing your copy failed; try again.")


@shared_task(base=DeliveryTask, name="delivery.tasks.prepare_entitlement")
def prepare_entitlement(entitlement_id: int) -> None:
    entitlement = (
        Entitlement.objects.select_related("pattern", "buyer", "order_item__order", "order_item__licence")
        .filter(pk=entitlement_id, revoked_at__isnull=True)
        .first()
    )
    if entitlement is None:
        return
    services.entitlement_prepare(entitlement=entitlement)


@shared_task(base=DeliveryTask, name="delivery.tasks.prepare_order_package")
def prepare_order_package(order_id: int) -> None:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return
    services.order_package_prepare(order=order)


@shared_task(name="delivery.tasks.sweep_undelivered", acks_late=True, soft_time_limit=120, time_limit=180)
def sweep_undelivered() -> int:
    return services.entitlements_requeue_undelivered()
