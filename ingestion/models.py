"""Ingestion state. Pattern and file status live on catalog rows; resumable uploads live here."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class UploadSession(models.Model):
    """A large file arriving in chunks; it can resume from ``received`` after a dropped connection."""

    class Status(models.TextChoices):
        OPEN = "open", "Receiving"
        COMPLETE = "complete", "Complete"
        CONSUMED = "consumed", "Attached to a pattern"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="upload_sessions")
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    received = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.received}/{self.size})"
