"""Reads of entitlements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from django.db.models import Count, Prefetch, QuerySet
from django_stubs_ext import WithAnnotations

from catalog.models import PatternFile
from delivery.models import Entitlement


class DownloadCount(TypedDict):
    download_count: int


def entitlement_list_for_buyer(*, buyer: Any) -> QuerySet[WithAnnotations[Entitlement, DownloadCount]]:
    """The buyer's active entitlements, each with its ``download_count``."""
    return (
        Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True)
        .annotate(download_count=Count("downloads"))
        .select_related("pattern", "pattern__licence", "order_item__order", "order_item__licence", "certificate")
        .prefetch_related(Prefetch("pattern__files", queryset=PatternFile.objects.order_by("id")), "pattern__previews")
    )


def entitled_pattern_ids(*, buyer: Any, pattern_ids: Sequence[int] | None = None) -> set[int]:
    if not getattr(buyer, "is_authenticated", False):
        return set()
    entitlements = Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True)
    if pattern_ids is not None:
        entitlements = entitlements.filter(pattern_id__in=pattern_ids)
    return set(entitlements.values_list("pattern_id", flat=True))


def entitlement_list_revoked_for_buyer(*, buyer: Any) -> QuerySet[Entitlement]:
    """What the buyer held and lost (refunded, disputed) and does not hold again: shown, not downloadable."""
    active = Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=True).values("pattern_id")
    return (
        Entitlement.objects.filter(buyer=buyer, revoked_at__isnull=False)
        .exclude(pattern_id__in=active)
        .select_related("pattern", "order_item__order", "order_item__licence")
        .prefetch_related("pattern__previews")
        .order_by("-revoked_at", "-pk")
    )


def buyer_ids_for_pattern(*, pattern_id: int) -> list[int]:
    """The people who hold an active entitlement to the pattern (its earlier buyers)."""
    return list(
        Entitlement.objects.filter(pattern_id=pattern_id, revoked_at__isnull=True)
        .order_by()
        .values_list("buyer_id", flat=True)
        .distinct()
    )
