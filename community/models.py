"""Reviews (with makes and one creator reply), favourites, named collections and follows."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from catalog.models import PUBLISHED_MEDIA_PREFIX, Pattern

User = settings.AUTH_USER_MODEL


class Review(models.Model):
    """A verified buyer's rating (1-5) and text; one per buyer per pattern, edited in place."""

    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="reviews")
    buyer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(max_length=5000, blank=True)
    reply = models.TextField(max_length=5000, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    # Staff hide a review: it leaves the lists and the average, the row stays.
    hidden_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["pattern", "buyer"], name="review_one_per_buyer"),
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="review_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 on {self.pattern_id} by {self.buyer_id}"


class ReviewPhoto(models.Model):
    """A photo of what the buyer made ("a make"), checked like every other uploaded image."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="photos")
    # Public as soon as posted (like published previews): served from the published media prefix.
    image = models.ImageField(upload_to=f"{PUBLISHED_MEDIA_PREFIX}makes/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.image.name or ""


class Favourite(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="favourites")
    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "pattern"], name="favourite_once")]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.pattern_id}"


class Collection(models.Model):
    """A named list of patterns; private to its owner unless made public."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=80)
    description = models.TextField(max_length=1000, blank=True)
    is_public = models.BooleanField(default=False)
    patterns = models.ManyToManyField(Pattern, through="CollectionItem", related_name="collections")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="collection_name_per_owner")]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    pattern = models.ForeignKey(Pattern, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["collection", "pattern"], name="collection_item_once")]

    def __str__(self) -> str:
        return f"{self.collection_id}:{self.pattern_id}"


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following")
    creator = models.ForeignKey(User, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "creator"], name="follow_once"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("creator")), name="follow_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} → {self.creator_id}"
