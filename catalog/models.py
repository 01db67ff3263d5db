"""Catalog domain: people, patterns, their files and previews, and how they are classified."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.files.storage import Storage, storages
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField


class User(AbstractUser):
    """A Tessera account. Buyers, creators and staff are all users; creators also have a profile."""

    email = models.EmailField("email address", blank=True)

    @property
    def is_creator(self) -> bool:
        return hasattr(self, "creator_profile")


class CreatorProfile(models.Model):
    """The public face of a user who sells patterns."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="creator_profile")
    display_name = models.CharField(max_length=120)
    bio = models.TextField(blank=True)
    stripe_account_id = models.CharField(max_length=64, blank=True)
    # Set by payments (through catalog.services.creator_payouts_ready_set) when Stripe Connect reports the
    # creator's payout account able to receive payouts; a paid pattern is not published before.
    payouts_ready = models.BooleanField(default=False)
    # The shop page (/creators/<username>/): pictures (checked like other uploads) and up to five links.
    # Public pictures live under PUBLISHED_MEDIA_PREFIX ("published/"), the only part of MEDIA_ROOT that is
    # served (by Django under make run, by nginx or S3 in production).
    avatar = models.ImageField(upload_to="published/creators/avatars/%Y/%m/", blank=True)
    banner = models.ImageField(upload_to="published/creators/banners/%Y/%m/", blank=True)
    links = models.JSONField(default=list, blank=True)
    # Paid order lines of this creator's patterns, counted from order.paid by an outbox handler (payments'
    # handler calls catalog.services.creator_sales_add) so the shop page needs nothing from payments.
    sales_count = models.PositiveIntegerField(default=0)
    # "Start selling": when the creator accepted the seller terms (empty: not yet).
    seller_terms_accepted_at = models.DateTimeField(null=True, blank=True)
    # Repeat-infringer policy (trust): while set, the creator cannot publish, submit or sell.
    selling_suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name


class Category(models.Model):
    """A browseable section of the catalog, e.g. '3D printing' or 'Sewing patterns'."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalog:category", kwargs={"slug": self.slug})


class Tag(models.Model):
    """A free-form descriptive label attached to patterns.

    Subject tags ("vase", "mandala") are for discovery: popular-tag lists and tag pages. Attributes (a colour, a
    rendering type, a file format) describe a pattern and can be filtered on, but are never offered as things to
    discover (issue 10: "Popular tags" showed "stl", "png", "red" and "photo").
    """

    class Kind(models.TextChoices):
        SUBJECT = "subject", "Subject"
        COLOUR = "colour", "Colour"
        RENDERING = "rendering", "Rendering"
        FORMAT = "format", "File format"

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SUBJECT, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Words that are attributes whoever types them: the tagger's colour names and rendering types, and file formats.
_COLOUR_WORDS = "black white grey gray red orange yellow green mint teal blue navy sky-blue purple pink magenta brown"
ATTRIBUTE_WORDS: dict[str, str] = {
    **dict.fromkeys([*_COLOUR_WORDS.split(), "beige", "gold"], Tag.Kind.COLOUR),
    **dict.fromkeys(["line-art", "render", "photo", "flat-graphic"], Tag.Kind.RENDERING),
    **dict.fromkeys("stl 3mf obj ply svg dxf pdf png jpg jpeg webp tiff zip".split(), Tag.Kind.FORMAT),
}


def tag_kind_for(slug: str) -> str:
    """The kind a tag with this slug has: an attribute for colour, rendering and format words, else a subject."""
    return ATTRIBUTE_WORDS.get(slug, Tag.Kind.SUBJECT)


class TaxonomyTerm(models.Model):
    """A label the auto-tagger may suggest; moderators edit the taxonomy in Django admin."""

    class Kind(models.TextChoices):
        CATEGORY = "category", "Category"
        TECHNIQUE = "technique", "Technique"
        STYLE = "style", "Style"
        MOTIF = "motif", "Motif"
        COLOUR = "colour", "Colour"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True, help_text="Extra words the text model matches on.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Licence(models.Model):
    """The terms a buyer receives. Open licences for free patterns, Personal/Commercial for paid ones."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    url = models.URLField(blank=True)
    summary = models.TextField()
    allows_commercial_use = models.BooleanField(default=False)
    requires_payment = models.BooleanField(
        default=False, help_text="Personal and Commercial tiers; open licences are for free patterns."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO currency code, e.g. USD.")


class Pattern(models.Model):
    """A listing: one design with one or more files, sold or given away under one licence."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PROCESSING = "processing", "Processing"
        NEEDS_REVIEW = "needs_review", "Needs review"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        # Taken off sale by its creator (or staff); the creator can publish it again. Buyers keep access.
        UNPUBLISHED = "unpublished", "Unpublished"
        # Soft delete: gone from the shop, search and the API for everyone but its creator and staff; buyers
        # keep their library entries and downloads.
        DELETED = "deleted", "Deleted"
        # Taken down by staff on a notice of infringement (trust): 404 to the public, buyers keep access unless
        # staff revoked it; only trust's restoration (counter-notice, successful complaint) brings it back.
        REMOVED = "removed", "Removed (notice)"

    class Step(models.TextChoices):
        RECEIVED = "received", "Received"
        VALIDATING = "validating", "Validating"
        RENDERING = "rendering", "Rendering previews"
        TAGGING = "tagging", "Tagging"
        READY = "ready", "Ready"

    title = models.CharField(max_length=140)
    slug = models.SlugField(max_length=160, unique=True)
    description = models.TextField(blank=True)
    creator = models.ForeignKey(User, on_delete=models.PROTECT, related_name="patterns")
    category = models.ForeignKey(Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="patterns")
    tags = models.ManyToManyField(Tag, blank=True, related_name="patterns")
    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="patterns")
    price = models.PositiveIntegerField(default=0, help_text="In minor units (cents).")
    commercial_price = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Price of the Commercial tier in minor units, for patterns sold under the Personal licence; "
        "empty when only Personal is offered.",
    )
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    status_reason = models.TextField(blank=True)
    # Approved by review but paid while its creator has no payouts set up: it waits as a draft (status_reason
    # says why) and is published when payments reports the creator's payouts ready.
    awaiting_payouts = models.BooleanField(default=False)
    processing_step = models.CharField(max_length=16, choices=Step.choices, default=Step.RECEIVED)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    # When the ingestion job was handed to the broker; empty while it never was (broker down at commit),
    # which is what the sweeper looks for.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # How many times the reaper requeued a pattern that stopped making progress.
    processing_attempts = models.PositiveSmallIntegerField(default=0)
    search_vector = SearchVectorField(null=True, editable=False)
    # MiniLM embedding of title, category, tags and description, for semantic search.
    text_embedding = VectorField(dimensions=384, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Denormalised from community's reviews and favourites (catalog cannot import community): written by
    # pattern_community_counts_set in the review's or favourite's transaction, read by the API, pages and cards
    # without a query.
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True, editable=False)
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    favourite_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        indexes = [
            GinIndex(fields=["search_vector"], name="pattern_search_gin"),
            models.Index(fields=["status", "-published_at"], name="pattern_status_published"),
            HnswIndex(
                name="pattern_text_embedding_hnsw",
                fields=["text_embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:pattern-detail", kwargs={"slug": self.slug})

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def subject_tags(self) -> list[Tag]:
        """Tags for discovery (uses the prefetched ``tags``)."""
        return [tag for tag in self.tags.all() if tag.kind == Tag.Kind.SUBJECT]

    @property
    def attribute_tags(self) -> list[Tag]:
        """Colour, rendering and format attributes: shown apart from the tags, still filterable.

        Sorted by kind, then name, so a page can group them ("Colour: brown, gold · File format: jpg").
        """
        return sorted(
            (tag for tag in self.tags.all() if tag.kind != Tag.Kind.SUBJECT), key=lambda tag: (tag.kind, tag.name)
        )


class ReviewQueue(Pattern):
    """Patterns waiting for a moderator (a proxy so the queue has its own admin page)."""

    class Meta:
        proxy = True
        verbose_name = "pattern awaiting review"
        verbose_name_plural = "review queue"


def originals_storage() -> Storage:
    return storages["originals"]


def original_upload_to(instance: PatternFile, filename: str) -> str:
    # The stored name is generated: the creator's filename never reaches the filesystem.
    return f"{instance.pattern_id}/{uuid.uuid4().hex}.{instance.format}"


class PatternVersion(models.Model):
    """One release of a pattern's files. Version 1 is the original upload; later ones go through ingestion and
    moderation while the current version (the latest published one) stays on sale."""

    Status = Pattern.Status

    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Pattern.Status.choices, default=Pattern.Status.PROCESSING)
    status_reason = models.TextField(blank=True)
    changelog = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The reaper of lost version jobs (ingestion.services.versions_requeue_stuck): when its ingestion chain was
    # handed to the broker (None: never, or being requeued), the last progress, and how often it was requeued.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    processing_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["pattern_id", "number"]
        constraints = [models.UniqueConstraint(fields=["pattern", "number"], name="pattern_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.pattern_id} v{self.number}"


class PatternFile(models.Model):
    """An original upload. Immutable once stored; identified by its sha256."""

    class Format(models.TextChoices):
        STL = "stl", "STL"
        THREE_MF = "3mf", "3MF"
        OBJ = "obj", "OBJ"
        PLY = "ply", "PLY"
        SVG = "svg", "SVG"
        DXF = "dxf", "DXF"
        PDF = "pdf", "PDF"
        PNG = "png", "PNG"
        JPG = "jpg", "JPEG"
        WEBP = "webp", "WebP"
        TIFF = "tiff", "TIFF"
        ZIP = "zip", "ZIP bundle"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"

    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="files")
    # Null only until saved: ``save`` puts a file without a version in version 1 (the original upload).
    version = models.ForeignKey(PatternVersion, on_delete=models.CASCADE, related_name="files", null=True, blank=True)
    original = models.FileField(upload_to=original_upload_to, storage=originals_storage, max_length=255)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(validators=[MinValueValidator(1)])
    format = models.CharField(max_length=8, choices=Format.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    validation = models.JSONField(default=dict, blank=True)
    # Copy detection: a scale/rotation-invariant shape descriptor (meshes), a 64-bit dHash (images).
    shape_descriptor = VectorField(dimensions=90, null=True, blank=True, editable=False)
    image_hash = VectorField(dimensions=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            HnswIndex(
                name="file_shape_hnsw",
                fields=["shape_descriptor"],
                m=16,
                ef_construction=64,
                opclasses=["vector_l2_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.original_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.version_id is None and self.pattern_id is not None:
            # A file saved without a version belongs to the original upload (submission, demo seeding, factories).
            pattern = self.pattern
            self.version, _ = PatternVersion.objects.get_or_create(
                pattern=pattern,
                number=1,
                defaults={"status": pattern.status, "published_at": pattern.published_at},
            )
        super().save(*args, **kwargs)

    @property
    def family(self) -> str:
        return FORMAT_FAMILIES[self.format]


FORMAT_FAMILIES = {
    "stl": "mesh",
    "3mf": "mesh",
    "obj": "mesh",
    "ply": "mesh",
    "svg": "vector",
    "dxf": "vector",
    "pdf": "document",
    "png": "image",
    "jpg": "image",
    "webp": "image",
    "tiff": "image",
    "zip": "bundle",
}


class TagSuggestion(models.Model):
    """A tag on a pattern with where it came from and how sure we are; accepted ones are in Pattern.tags."""

    class Source(models.TextChoices):
        CREATOR = "creator", "Creator"
        MODEL = "model", "Model"
        PROBE = "probe", "Learned from corrections"
        SYSTEM = "system", "File format"
        MODERATOR = "moderator", "Moderator"

    class State(models.TextChoices):
        SUGGESTED = "suggested", "Suggested"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="tag_suggestions")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="suggestions")
    kind = models.CharField(max_length=12, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices)
    confidence = models.FloatField(default=1.0)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SUGGESTED)
    decided_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-confidence"]
        constraints = [models.UniqueConstraint(fields=["pattern", "tag"], name="tag_suggestion_unique")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.pattern} ({self.source}, {self.confidence:.2f}, {self.state})"


class TagProbe(models.Model):
    """A per-tag linear probe on preview embeddings, fitted on tags that people confirmed or rejected."""

    tag = models.OneToOneField(Tag, on_delete=models.CASCADE, related_name="probe")
    weights = VectorField(dimensions=1280)
    bias = models.FloatField()
    positives = models.PositiveIntegerField()
    negatives = models.PositiveIntegerField()
    trained_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"probe for {self.tag}"


class CopyFlag(models.Model):
    """A possible copy of another creator's file, found at ingestion, waiting for a moderator."""

    class Kind(models.TextChoices):
        EXACT = "exact", "Identical file"
        SHAPE = "shape", "Same 3D shape"
        IMAGE = "image", "Near-identical image"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Not a copy"
        CONFIRMED = "confirmed", "Confirmed copy"

    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="copy_flags")
    pattern_file = models.ForeignKey(PatternFile, on_delete=models.CASCADE, related_name="copy_flags")
    matched_file = models.ForeignKey(PatternFile, on_delete=models.CASCADE, related_name="copied_by")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    distance = models.FloatField(help_text="0 for identical; see the threshold for what counts as a copy.")
    threshold = models.FloatField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["pattern_file", "matched_file", "kind"], name="copy_flag_unique_match")
        ]

    def __str__(self) -> str:
        return f"{self.pattern_file} ~ {self.matched_file} ({self.kind})"

    @property
    def evidence(self) -> str:
        if self.kind == self.Kind.EXACT:
            return "Byte-for-byte identical (same sha256)."
        if self.kind == self.Kind.IMAGE:
            return f"{self.distance:.0f} of 64 hash bits differ (a copy at ≤ {self.threshold:.0f})."
        return (
            f"Shape distance {self.distance:.4f} (a copy at ≤ {self.threshold}); "
            "rotation, scale and meshing do not change it."
        )


# Previews and viewer meshes of published patterns live under this prefix of the public media storage, under
# random names given at publication; the web server (or S3) sends them without Python. Everything else
# (unpublished patterns' files, under previews/ and viewer/) has no public URL: only the catalog views that
# check who may see the pattern send it. Leaving "published" moves the files out again (catalog.services).
PUBLISHED_MEDIA_PREFIX = "published/"


def is_published_media(name: str | None) -> bool:
    return bool(name) and str(name).startswith(PUBLISHED_MEDIA_PREFIX)


class ViewerModel(models.Model):
    """A simplified public mesh for the interactive 3D viewer (never the original)."""

    pattern_file = models.OneToOneField(PatternFile, on_delete=models.CASCADE, related_name="viewer_model")
    file = models.FileField(upload_to="viewer/%Y/%m/")
    face_count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"Viewer mesh of {self.pattern_file}"

    @property
    def url(self) -> str:
        """The public URL once published, else the checked view (which answers 404 to those who may not see it)."""
        if is_published_media(self.file.name):
            return self.file.url
        return reverse("catalog:viewer-model-file", kwargs={"pk": self.pk})


class Preview(models.Model):
    """A public PNG rendering of a pattern file. Previews, never originals, are what the public sees."""

    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="previews")
    pattern_file = models.ForeignKey(PatternFile, on_delete=models.CASCADE, related_name="previews")
    image = models.ImageField(upload_to="previews/%Y/%m/")
    label = models.CharField(max_length=60, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # The creator's order of the pattern's previews (the first is the cover); 0 everywhere keeps files' order.
    sort_order = models.PositiveSmallIntegerField(default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    # EfficientNet-Lite0 features for visual search and "more like this".
    embedding = VectorField(dimensions=1280, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["sort_order", "pattern_file_id", "position"]
        indexes = [
            HnswIndex(
                name="preview_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["pattern_file", "position"], name="preview_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.pattern_file} preview {self.position}"

    @property
    def ordered_renditions(self) -> list[PreviewRendition]:
        """The renditions narrowest first (uses a prefetch of ``renditions`` when there is one)."""
        return sorted(self.renditions.all(), key=lambda r: (r.width, r.format))

    @property
    def url(self) -> str:
        """The public URL once published, else the checked view (which answers 404 to those who may not see it)."""
        if is_published_media(self.image.name):
            return self.image.url
        return reverse("catalog:preview-file", kwargs={"pk": self.pk})


class PreviewRendition(models.Model):
    """A resized copy of a preview for ``srcset``: WebP at a few widths, and one PNG or JPEG for old browsers.

    Stored like the preview itself: under ``published/`` only while the pattern is published, else reachable
    only through the checked view (catalog.services moves renditions together with their preview).
    """

    class Format(models.TextChoices):
        WEBP = "webp", "WebP"
        PNG = "png", "PNG"
        JPEG = "jpeg", "JPEG"

    preview = models.ForeignKey(Preview, on_delete=models.CASCADE, related_name="renditions")
    format = models.CharField(max_length=5, choices=Format.choices)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField(help_text="Bytes.")
    image = models.FileField(upload_to="previews/%Y/%m/", max_length=255)

    class Meta:
        ordering = ["preview_id", "width", "format"]
        constraints = [
            models.UniqueConstraint(fields=["preview", "format", "width"], name="preview_rendition_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.preview} {self.width}w {self.format}"

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"

    @property
    def url(self) -> str:
        """The public URL once published, else the checked view (which answers 404 to those who may not see it)."""
        if is_published_media(self.image.name):
            return self.image.url
        return reverse("catalog:preview-rendition-file", kwargs={"pk": self.pk})


class RejectionReason(models.Model):
    """A canned reason a moderator picks when rejecting a pattern; staff edit the list in the admin."""

    label = models.CharField(max_length=60, help_text="The short name on the moderator's button.")
    text = models.TextField(help_text="What the creator reads; the moderator may add details below it.")
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label


class ReviewClaim(models.Model):
    """A moderator's lease on a pattern waiting for review, so two moderators never review the same one.

    A lease past ``expires_at`` is free for anyone to take; opening the pattern again renews one's own.
    """

    pattern = models.OneToOneField(Pattern, on_delete=models.CASCADE, related_name="review_claim")
    moderator = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.pattern_id} claimed by {self.moderator_id} until {self.expires_at:%H:%M}"


class ModerationDecision(models.Model):
    """Who approved or rejected a pattern, when and why (an audit trail and the creator's history)."""

    class Action(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"

    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="moderation_decisions")
    moderator = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    canned_reason = models.ForeignKey(RejectionReason, on_delete=models.SET_NULL, null=True, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.pattern_id}"
