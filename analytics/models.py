"""Analytics domain: raw events that creator dashboards and trends are built from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.Model):
    """Something a person did: viewed a page, searched, bought or downloaded."""

    class Kind(models.TextChoices):
        PAGE_VIEW = "page_view", "Page view"
        SEARCH = "search", "Search"
        PURCHASE = "purchase", "Purchase"
        DOWNLOAD = "download", "Download"
        # "Tell us what you wanted" on a weak search page: ``query`` and the buyer's words in metadata["wanted"];
        # read by the demand insights (issue 13).
        SEARCH_REQUEST = "search_request", "Search request"

    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pattern = models.ForeignKey(
        "catalog.Pattern", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    # The visitor: a random first-party cookie id (no IP address is stored); "" when the request had none
    # (Do-Not-Track / Global Privacy Control, or a first visit): such a row counts as a visitor of its own.
    visitor = models.CharField(max_length=32, blank=True, default="")
    path = models.CharField(max_length=255, blank=True)
    query = models.CharField(max_length=255, blank=True)
    result_count = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # When it happened: page views and searches are tracked (marketplace.tracking) and written in
    # batches a few seconds later, keeping the time of the request.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "created_at"], name="event_kind_created")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"
