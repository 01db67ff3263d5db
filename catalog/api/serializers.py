"""API representations of patterns; input serializers only parse, services do the work."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from catalog.forms import SEARCH_QUERY_MAX_LENGTH, refuse_control_characters
from catalog.models import Category, Licence, Pattern, PatternFile, Preview, Tag, TagSuggestion
from catalog.printers import PRINTER_BEDS
from catalog.selectors import SORTS


class PatternFileSerializer(serializers.ModelSerializer[PatternFile]):
    name = serializers.CharField(source="original_name")

    class Meta:
        model = PatternFile
        fields = ["id", "name", "format", "size", "sha256", "status", "validation"]


class PreviewSerializer(serializers.ModelSerializer[Preview]):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Preview
        fields = ["url", "label", "width", "height"]

    def get_url(self, preview: Preview) -> str:
        request = self.context.get("request")
        url = preview.url
        return request.build_absolute_uri(url) if request else url


class TagSuggestionSerializer(serializers.ModelSerializer[TagSuggestion]):
    name = serializers.CharField(source="tag.name")

    class Meta:
        model = TagSuggestion
        fields = ["id", "name", "kind", "source", "confidence", "state"]


class PatternSerializer(serializers.ModelSerializer[Pattern]):
    creator = serializers.CharField(source="creator.username")
    category: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    licence: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    tags: Any = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    files = PatternFileSerializer(many=True, read_only=True)
    previews = PreviewSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()
    rating = serializers.SerializerMethodField()

    class Meta:
        model = Pattern
        fields = [
            "id",
            "title",
            "slug",
            "description",
            "creator",
            "category",
            "tags",
            "licence",
            "price",
            "commercial_price",
            "currency",
            "status",
            "status_reason",
            "processing_step",
            "files",
            "previews",
            "url",
            "created_at",
            "published_at",
            "rating",
            "favourite_count",
        ]

    @extend_schema_field(
        inline_serializer(
            "PatternRating",
            {
                "average": serializers.FloatField(allow_null=True),
                "count": serializers.IntegerField(),
            },
        )
    )
    def get_rating(self, pattern: Pattern) -> dict[str, Any]:
        """The mean of visible reviews (null without any) and how many there are; stored on the pattern."""
        average = pattern.rating_average
        return {"average": None if average is None else float(average), "count": pattern.rating_count}

    def get_url(self, pattern: Pattern) -> str:
        request = self.context.get("request")
        url = pattern.get_absolute_url()
        return request.build_absolute_uri(url) if request else url


def _max_length(model: Any, field: str) -> int:
    return int(model._meta.get_field(field).max_length)


class LowercaseChoiceField(serializers.ChoiceField):
    """A choice matched case-insensitively (``?format=STL`` always worked)."""

    def to_internal_value(self, data: Any) -> Any:
        return super().to_internal_value(data.lower() if isinstance(data, str) else data)


class PatternListQuerySerializer(serializers.Serializer[Any]):
    """The list endpoint's query string. ``format`` filters by file format; it never selects a renderer."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=SEARCH_QUERY_MAX_LENGTH,
        validators=[refuse_control_characters],
        help_text="Full-text and semantic query",
    )
    format = LowercaseChoiceField(
        choices=PatternFile.Format.values,
        required=False,
        allow_blank=True,
        default="",
        help_text="File format (case-insensitive)",
    )
    category = serializers.SlugField(
        required=False,
        allow_blank=True,
        default="",
        max_length=_max_length(Category, "slug"),
        help_text="Category slug",
    )
    tag = serializers.SlugField(
        required=False, allow_blank=True, default="", max_length=_max_length(Tag, "slug"), help_text="Tag slug"
    )
    licence = serializers.SlugField(
        required=False,
        allow_blank=True,
        default="",
        max_length=_max_length(Licence, "code"),
        help_text="Licence code, e.g. cc0, personal, commercial",
    )
    price_min = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=2**31 - 1, help_text="Minor units"
    )
    price_max = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=2**31 - 1, help_text="Minor units"
    )
    validated = serializers.BooleanField(
        required=False, default=False, help_text="Only patterns whose files passed every check"
    )
    printer_bed = serializers.ChoiceField(
        choices=list(PRINTER_BEDS),
        required=False,
        allow_blank=True,
        default="",
        help_text="Only meshes that fit this printer (see docs/findings.md)",
    )
    sort = serializers.ChoiceField(
        choices=list(SORTS),
        required=False,
        allow_blank=True,
        default="",
        help_text="Order: relevance (the default with q; newest without), newest, price_asc, price_desc, "
        "best_selling (paid order items)",
    )
    page = serializers.IntegerField(required=False, min_value=1, max_value=10**9, help_text="Page number")


class TagDecisionInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["accept", "reject"])


class ModerationInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class PatternUpdateInputSerializer(serializers.Serializer[Any]):
    """A partial edit of a pattern's listing: only the fields sent change."""

    title = serializers.CharField(max_length=140, required=False, validators=[refuse_control_characters])
    description = serializers.CharField(allow_blank=True, required=False, validators=[refuse_control_characters])
    category = serializers.SlugField(
        required=False,
        allow_blank=True,
        max_length=_max_length(Category, "slug"),
        help_text="Category slug; empty for none",
    )
    licence = serializers.SlugField(
        required=False,
        max_length=_max_length(Licence, "code"),
        help_text="cc0, cc-by, cc-by-sa, cc-by-nc, personal or commercial",
    )
    price = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, help_text="Minor units (cents).")
    commercial_price = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        help_text="Price of the Commercial licence tier (with licence=personal), minor units; null for none.",
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=200),
        max_length=100,
        required=False,
        help_text="The creator's own tags, replacing the ones they set before (the tagger's stay).",
    )
    preview_order = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=500,
        required=False,
        help_text="Every preview id of the pattern once, in the order shown; the first is the cover.",
    )

    def validate_category(self, value: str) -> Category | None:
        if not value:
            return None
        category = Category.objects.filter(slug=value).first()
        if category is None:
            raise serializers.ValidationError(f"Unknown category '{value}'.")
        return category

    def validate_licence(self, value: str) -> Licence:
        licence = Licence.objects.filter(code=value).first()
        if licence is None:
            raise serializers.ValidationError(f"Unknown licence '{value}'.")
        return licence


class PatternEventSerializer(serializers.Serializer[Any]):
    """One event of a pattern's history."""

    type = serializers.CharField(help_text="Dotted event name, e.g. pattern.published")
    actor = serializers.SerializerMethodField(help_text="Username of who did it; null for the system")
    at = serializers.DateTimeField()
    # The metaclass moves declared fields off the class, so this does not shadow Serializer.data.
    data = serializers.DictField(help_text="The event's fields (ids, reason, changes ...)")  # type: ignore[assignment]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor(self, event: Any) -> str | None:
        return event.actor_username or None
