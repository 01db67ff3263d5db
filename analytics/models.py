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


class Recommendation(models.Model):
    """A precomputed recommendation: ``target`` shown with ``source`` (a pattern page, a cart, "for you").

    Written only by ``analytics.recommendations.services.recommendations_recompute`` (a periodic task), which
    replaces every row of a kind in one transaction; pages and the API read these rows and never compute. Rows of
    kind ``popular`` have no source: the popularity fallback of cold start, best first.
    """

    class Kind(models.TextChoices):
        BOUGHT_TOGETHER = "bought_together", "Frequently bought together"
        ALSO_VIEWED = "also_viewed", "Buyers also viewed"
        COMPLETE_PROJECT = "complete_project", "Complete the project"
        POPULAR = "popular", "Popular"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.ForeignKey(
        "catalog.Pattern", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    target = models.ForeignKey("catalog.Pattern", on_delete=models.CASCADE, related_name="+")
    # Bought together: lift; also viewed: cosine of the co-view sessions; complete the project: a blend of text,
    # look and tag similarity; popular: paid sales in the window.
    score = models.FloatField()
    # Orders (or sessions) that had both; 0 for content similarity.
    support = models.PositiveIntegerField(default=0)
    rank = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["source", "kind", "rank"], name="recommendation_source_kind")]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source", "target"], name="recommendation_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.source_id} → {self.target_id} ({self.score:.3f})"
