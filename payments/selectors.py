"""Reads of orders."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from payments.models import Order


def order_list_for_buyer(*, buyer: Any) -> QuerySet[Order]:
    return Order.objects.filter(buyer=buyer).prefetch_related("items__pattern")


def order_get_for_buyer(*, buyer: Any, order_id: int) -> Order | None:
    return order_list_for_buyer(buyer=buyer).filter(pk=order_id).first()
