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
        # Issue 13 (insights): a pattern shown in search results (``query``), a preview picture seen (``item``: the
        # preview's id), a pattern put in a cart.
        IMPRESSION = "impression", "Search impression"
        PREVIEW_VIEW = "preview_view", "Preview view"
        ADD_TO_CART = "add_to_cart", "Add to cart"

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
    # A search's words; for a page view that came from a Tessera search (``source`` "search"), that search's words.
    query = models.CharField(max_length=255, blank=True)
    # Where the visit came from: the Referer's host without "www.", "search", "internal", "direct" ("" unknown).
    source = models.CharField(max_length=100, blank=True, default="")
    utm_source = models.CharField(max_length=100, blank=True, default="")
    utm_medium = models.CharField(max_length=100, blank=True, default="")
    utm_campaign = models.CharField(max_length=100, blank=True, default="")
    # What inside the pattern: the preview's id of a preview view.
    item = models.PositiveIntegerField(null=True, blank=True)
    result_count = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # When it happened: page views and searches are tracked (marketplace.tracking) and written in
    # batches a few seconds later, keeping the time of the request.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "created_at"], name="event_kind_created"),
            # What led to a purchase (analytics.services.purchase_attribution): a visitor's events; "" is no one.
            models.Index(
                fields=["visitor", "created_at"], name="event_visitor_created", condition=~models.Q(visitor="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.created_at:%Y-%m-%d %H:%M}"


class Rollup(models.Model):
    """Aggregates of the raw events per day (``grain`` "day") and per hour (``grain`` "hour", the last two days),
    per pattern (``pattern_id``, with its ``creator_id``), per shop (``pattern_id`` 0, ``creator_id``: the creator's
    patterns and shop page together) and for the marketplace (both 0). ``dimension`` "" holds the totals; the
    others break them down by ``key`` (and ``key2``, ``key3``):

    - ``source``: key the source; ``campaign``: key utm_campaign, key2 utm_source, key3 utm_medium;
    - ``search``: key the query (impressions: searches that showed it; visitors/views: clicks from it);
    - ``preview``: key the preview id; ``country``: key the buyer's card country ("" unknown);
    - ``buyer``: key "new" or "returning" (bought from this creator before); ``query`` (marketplace only): key the
      words searched.

    Purchases, revenue and net of a source, campaign, search term or preview are those of the purchases it led to
    (the buyer's last page view of the pattern before paying; a preview the buyer saw before paying). Written only
    by ``analytics.rollups.rollup_refresh``: a day's rows are replaced as a whole, so a refresh is idempotent.
    Never deleted by the raw events' retention. Minor units of the pattern's currency.
    """

    grain = models.CharField(max_length=4)
    bucket = models.DateTimeField()
    pattern_id = models.IntegerField(default=0)
    creator_id = models.IntegerField(default=0)
    dimension = models.CharField(max_length=16, default="", blank=True)
    key = models.CharField(max_length=255, default="", blank=True)
    key2 = models.CharField(max_length=100, default="", blank=True)
    key3 = models.CharField(max_length=100, default="", blank=True)
    views = models.BigIntegerField(default=0)
    visitors = models.BigIntegerField(default=0)
    searches = models.BigIntegerField(default=0)
    impressions = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    add_to_cart = models.BigIntegerField(default=0)
    purchases = models.BigIntegerField(default=0)
    revenue = models.BigIntegerField(default=0)
    net = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "bucket", "pattern_id", "creator_id", "dimension", "key", "key2", "key3"],
                name="rollup_unique_bucket",
            )
        ]
        indexes = [
            models.Index(fields=["creator_id", "pattern_id", "grain", "bucket"], name="rollup_scope_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.bucket:%Y-%m-%d %H:%M} pattern {self.pattern_id} {self.dimension} {self.key}"


class RollupWatermark(models.Model):
    """The highest raw event id the rollup has read (one row, ``name`` "events")."""

    name = models.CharField(max_length=32, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_event_id}"
