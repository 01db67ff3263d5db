"""Delivery domain: who may download what, and every download that happened."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Entitlement(models.Model):
    """The right of a buyer to download a pattern's files, granted by a paid (or free) order item."""

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="entitlements")
    pattern = models.ForeignKey("catalog.Pattern", on_delete=models.PROTECT, related_name="entitlements")
    order_item = models.OneToOneField("payments.OrderItem", on_delete=models.PROTECT, related_name="entitlement")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

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
    pattern_file = models.ForeignKey(
        "catalog.PatternFile", on_delete=models.PROTECT, related_name="downloads", null=True, blank=True
    )
    kind = models.CharField(max_length=8, default="file", help_text="file, pattern (zip) or order (zip)")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="downloads")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} downloaded {self.pattern_file}"


def deliveries_storage():  # type: ignore[no-untyped-def]
    from django.core.files.storage import storages

    return storages["deliveries"]


def _marked_upload_to(instance: MarkedFile, filename: str) -> str:
    return f"marked/{instance.entitlement_id}/{instance.pattern_file_id}/{filename}"


def _package_upload_to(instance: Package, filename: str) -> str:
    return f"packages/{uuid.uuid4().hex}/{filename}"


class MarkedFile(models.Model):
    """A buyer's own copy of one file: watermarked for their entitlement, made once and kept."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        UNMARKED = "unmarked", "Ready (format not watermarked)"
        FAILED = "failed", "Failed"

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="marked_files")
    pattern_file = models.ForeignKey("catalog.PatternFile", on_delete=models.PROTECT, related_name="marked_copies")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=_marked_upload_to, storage=deliveries_storage, max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size = models.PositiveBigIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entitlement", "pattern_file"], name="marked_file_once_per_entitlement")
        ]

    def __str__(self) -> str:
        return f"{self.pattern_file} for entitlement {self.entitlement_id} ({self.status})"


class Package(models.Model):
    """A zip a buyer downloads: one pattern's files with its licence, or a whole order."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="packages")
    entitlement = models.OneToOneField(
        Entitlement, on_delete=models.CASCADE, null=True, blank=True, related_name="package"
    )
    order = models.OneToOneField(
        "payments.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="package"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to=_package_upload_to, storage=deliveries_storage, max_length=255, blank=True)
    filename = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(entitlement__isnull=False, order__isnull=True)
                | models.Q(entitlement__isnull=True, order__isnull=False),
                name="package_is_for_an_entitlement_or_an_order",
            )
        ]

    def __str__(self) -> str:
        return self.filename


class LicenceCertificate(models.Model):
    """The signed statement of what a buyer may do with a pattern; its id is in the verification URL."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entitlement = models.OneToOneField(Entitlement, on_delete=models.CASCADE, related_name="certificate")
    content = models.JSONField(help_text="The certificate as issued, without its signature.")
    signature = models.CharField(max_length=128)
    issued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Certificate {self.id}"


class LeakTrace(models.Model):
    """A suspected leak an admin checked, and who it was traced to."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=8, blank=True)
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.SET_NULL, null=True, blank=True, related_name="leak_traces"
    )
    confidence = models.FloatField(default=0.0)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Leak trace of {self.file_name}"
