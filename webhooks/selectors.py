"""Reads of endpoints and deliveries, always through their owner (another user's endpoint does not exist)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from webhooks.models import Delivery, DeliveryAttempt, Endpoint


def endpoint_list_for_owner(*, owner: Any) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(owner=owner).order_by("id")


def endpoint_get_for_owner(*, owner: Any, endpoint_id: int) -> Endpoint | None:
    return endpoint_list_for_owner(owner=owner).select_related("owner").filter(pk=endpoint_id).first()


def delivery_list_for_endpoint(*, endpoint: Endpoint) -> QuerySet[Delivery]:
    """Newest first, each with its attempts (two queries whatever the number of deliveries)."""
    return (
        Delivery.objects.filter(endpoint=endpoint)
        .defer("body")
        .order_by("-id")
        .prefetch_related(Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("id")))
    )


def delivery_get_for_owner(*, owner: Any, endpoint_id: int, delivery_id: int) -> Delivery | None:
    return (
        Delivery.objects.filter(pk=delivery_id, endpoint_id=endpoint_id, endpoint__owner=owner)
        .select_related("endpoint")
        .first()
    )
