"""API representations of patterns; input serializers only parse, services do the work."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.models import Pattern, PatternFile, Preview, TagSuggestion


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
    category: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    licence: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)
    tags: Any = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    files = PatternFileSerializer(many=True, read_only=True)
    previews = PreviewSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

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
        ]

    def get_url(self, pattern: Pattern) -> str:
        request = self.context.get("request")
        url = pattern.get_absolute_url()
        return request.build_absolute_uri(url) if request else url


class PatternCreateInputSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=140)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    price = serializers.IntegerField(min_value=0, help_text="Minor units (cents).")
    commercial_price = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        default=None,
        help_text="Price of the Commercial licence tier (with licence=personal), minor units.",
    )
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", default="USD")
    licence = serializers.SlugField(help_text="cc0, cc-by, cc-by-sa, cc-by-nc, personal or commercial")
    category = serializers.SlugField(required=False, allow_blank=True, default="")
    tags = serializers.CharField(required=False, allow_blank=True, default="", help_text="Comma-separated tags")
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, default=list)
    uploads = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, help_text="Ids of completed resumable uploads"
    )


class TagDecisionInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["accept", "reject"])


class ModerationInputSerializer(serializers.Serializer[Any]):
    action = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField(allow_blank=True, required=False, default="")
