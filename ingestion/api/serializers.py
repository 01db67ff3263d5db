"""API input of the submit workflow: parsed here, checked by ``ingestion.submit.pattern_submit``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from catalog.forms import refuse_control_characters, tag_names_parse


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
    tags = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=400,
        validators=[refuse_control_characters],
        help_text="Comma-separated tags, each at most 60 characters; the first 20 are kept.",
    )
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False, default=list)
    uploads = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=50,
        help_text="Ids of completed resumable uploads",
    )

    def validate_tags(self, value: str) -> list[str]:
        try:
            return tag_names_parse(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
