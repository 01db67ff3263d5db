"""Delivery domain: who may download what, and every download that happened."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Entitlement(models.Model):
    """The right of a buyer to download a pattern's files, granted by a paid (or free) order item."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="entitlements")
    pattern = models.ForeignKey("catalog.Pattern", on_delete=models.PROTECT, related_name="entitlements")
    order_item = models.OneToOneField("payments.OrderItem", on_delete=models.PROTECT, related_name="entitlement")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer", "pattern"],
                condition=models.Q(revoked_at__isnull=True),
                name="entitlement_one_active_per_buyer_pattern",
            )
        ]

    def __str__(self) -> str:
        return f"{self.buyer} → {self.pattern}"


class DownloadEvent(models.Model):
    """One completed download of one file through a signed link."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="downloads")
    pattern_file = models.ForeignKey("catalog.PatternFile", on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="downloads")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} downloaded {self.pattern_file}"
