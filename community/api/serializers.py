"""API shapes of reviews, favourites and collections; input serializers only parse, services do the work."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.api.serializers import PatternSerializer
from catalog.forms import refuse_control_characters
from community.models import Collection, Favourite, Review, ReviewPhoto


class ReviewPhotoSerializer(serializers.ModelSerializer[ReviewPhoto]):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReviewPhoto
        fields = ["id", "url", "width", "height"]

    def get_url(self, photo: ReviewPhoto) -> str:
        request = self.context.get("request")
        url = photo.image.url
        return request.build_absolute_uri(url) if request else url


class ReviewSerializer(serializers.ModelSerializer[Review]):
    author = serializers.CharField(source="buyer.username", read_only=True)
    pattern = serializers.IntegerField(source="pattern_id", read_only=True)
    photos = ReviewPhotoSerializer(many=True, read_only=True)
    hidden = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "pattern",
            "author",
            "rating",
            "text",
            "photos",
            "reply",
            "replied_at",
            "hidden",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_hidden(self, review: Review) -> bool:
        return review.hidden_at is not None


class ReviewInputSerializer(serializers.Serializer[Any]):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, default="", validators=[refuse_control_characters]
    )


class ReviewUpdateInputSerializer(serializers.Serializer[Any]):
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False)
    text = serializers.CharField(
        max_length=5000, allow_blank=True, required=False, validators=[refuse_control_characters]
    )


class ReplyInputSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(max_length=5000, validators=[refuse_control_characters])


class HideInputSerializer(serializers.Serializer[Any]):
    hidden = serializers.BooleanField(default=True)


class PhotoInputSerializer(serializers.Serializer[Any]):
    image = serializers.FileField()


class FavouriteStateSerializer(serializers.Serializer[Any]):
    pattern = serializers.IntegerField()
    favourite = serializers.BooleanField()
    favourite_count = serializers.IntegerField()


class FavouriteSerializer(serializers.ModelSerializer[Favourite]):
    pattern = PatternSerializer(read_only=True)

    class Meta:
        model = Favourite
        fields = ["pattern", "created_at"]


class CollectionSerializer(serializers.ModelSerializer[Collection]):
    owner = serializers.CharField(source="owner.username", read_only=True)
    patterns = serializers.SerializerMethodField()

    class Meta:
        model = Collection
        fields = ["id", "owner", "name", "description", "is_public", "patterns", "created_at", "updated_at"]
        read_only_fields = fields

    def get_patterns(self, collection: Collection) -> list[int]:
        return [item.pattern_id for item in collection.items.all()]


class CollectionInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=80, validators=[refuse_control_characters])
    description = serializers.CharField(
        max_length=1000, allow_blank=True, required=False, default="", validators=[refuse_control_characters]
    )
    is_public = serializers.BooleanField(required=False, default=False)


class CollectionUpdateInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=80, required=False, validators=[refuse_control_characters])
    description = serializers.CharField(
        max_length=1000, allow_blank=True, required=False, validators=[refuse_control_characters]
    )
    is_public = serializers.BooleanField(required=False)


class FollowStateSerializer(serializers.Serializer[Any]):
    creator = serializers.CharField()
    following = serializers.BooleanField()
    followers = serializers.IntegerField()
