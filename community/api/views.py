"""Reviews, favourites, collections and follows over the API. Thin: parse, call a service, answer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Pattern
from catalog.permissions import MODERATE_PATTERNS, staff_has_perm
from catalog.selectors import pattern_visible_to
from community import selectors, services
from community.api.serializers import (
    CollectionInputSerializer,
    CollectionSerializer,
    CollectionUpdateInputSerializer,
    FavouriteSerializer,
    FavouriteStateSerializer,
    FollowStateSerializer,
    HideInputSerializer,
    PhotoInputSerializer,
    ReplyInputSerializer,
    ReviewInputSerializer,
    ReviewPhotoSerializer,
    ReviewSerializer,
    ReviewUpdateInputSerializer,
)
from community.models import Collection, CollectionItem, Favourite, Follow, Review


def _drf(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def _visible_pattern(request: Request, pk: int) -> Pattern:
    return get_object_or_404(
        pattern_visible_to(user=request.user).select_related(None).prefetch_related(None).only("pk", "creator_id"),
        pk=pk,
    )


class PatternReviewsView(generics.ListAPIView[Review]):
    """``GET``: a pattern's visible reviews, newest first (paginated). ``POST {rating, text}``: review a pattern
    you bought (403 otherwise); one review per buyer per pattern (a second POST is 400: edit it with ``PATCH
    /api/v1/reviews/{id}/``)."""

    serializer_class = ReviewSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    def get_queryset(self) -> QuerySet[Review]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no request
            return Review.objects.none()
        pattern = _visible_pattern(self.request, self.kwargs["pk"])
        return selectors.review_list_visible(pattern_id=pattern.pk)

    @extend_schema(request=ReviewInputSerializer, responses={201: ReviewSerializer})
    def post(self, request: Request, pk: int) -> Response:
        pattern = _visible_pattern(request, pk)
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            review = services.review_create(pattern=pattern, buyer=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        return Response(ReviewSerializer(review, context={"request": request}).data, status=status.HTTP_201_CREATED)


def _review_for(request: Request, pk: int) -> Review:
    """A review on a pattern the caller may see; a hidden one only for its author and moderators."""
    reviews = Review.objects.select_related("buyer", "pattern").prefetch_related("photos")
    review = get_object_or_404(reviews.filter(pattern__in=pattern_visible_to(user=request.user).values("pk")), pk=pk)
    if (
        review.hidden_at is not None
        and review.buyer_id != request.user.pk
        and not staff_has_perm(request.user, MODERATE_PATTERNS)
    ):
        raise Http404
    return review


class ReviewDetailView(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(responses={200: ReviewSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(ReviewSerializer(_review_for(request, pk), context={"request": request}).data)

    @extend_schema(request=ReviewUpdateInputSerializer, responses={200: ReviewSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        """Edit your review (its author only); the pattern's rating follows."""
        review = _review_for(request, pk)
        serializer = ReviewUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_update(review=review, user=request.user, **serializer.validated_data)
        return Response(ReviewSerializer(review, context={"request": request}).data)


class ReviewReplyView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=ReplyInputSerializer, responses={200: ReviewSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """The pattern's creator replies to a review, once (a second reply is 400)."""
        review = _review_for(request, pk)
        serializer = ReplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            review = services.review_reply(review=review, user=request.user, text=serializer.validated_data["text"])
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        return Response(ReviewSerializer(review, context={"request": request}).data)


class ReviewHideView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=HideInputSerializer, responses={200: ReviewSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Moderators hide (``{"hidden": true}``) or show a review; hidden reviews leave lists and averages."""
        review = _review_for(request, pk)
        serializer = HideInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_set_hidden(
            review=review, user=request.user, hidden=serializer.validated_data["hidden"]
        )
        return Response(ReviewSerializer(review, context={"request": request}).data)


class ReviewPhotosView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": PhotoInputSerializer}, responses={201: ReviewPhotoSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Add a photo of your make (multipart ``image``: JPEG, PNG or WebP within the size and pixel limits)."""
        review = _review_for(request, pk)
        serializer = PhotoInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["image"]
        try:
            photo = services.review_photo_add(review=review, user=request.user, upload=upload, size=upload.size)
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        return Response(ReviewPhotoSerializer(photo, context={"request": request}).data, status=201)


class FavouriteView(APIView):
    """``POST`` favourites a pattern, ``DELETE`` unfavourites it; both idempotent (200 with the state)."""

    permission_classes = [permissions.IsAuthenticated]

    def _answer(self, request: Request, pk: int, on: bool) -> Response:
        pattern = _visible_pattern(request, pk)
        services.favourite_set(user=request.user, pattern=pattern, on=on)
        count = Pattern.objects.values_list("favourite_count", flat=True).get(pk=pattern.pk)
        return Response({"pattern": pattern.pk, "favourite": on, "favourite_count": count})

    @extend_schema(request=None, responses={200: FavouriteStateSerializer})
    def post(self, request: Request, pk: int) -> Response:
        return self._answer(request, pk, True)

    @extend_schema(request=None, responses={200: FavouriteStateSerializer})
    def delete(self, request: Request, pk: int) -> Response:
        return self._answer(request, pk, False)


class FavouriteListView(generics.ListAPIView[Any]):
    """Your favourite patterns, newest first (paginated)."""

    serializer_class = FavouriteSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no request
            return Favourite.objects.none()
        return selectors.favourite_list(user=self.request.user).prefetch_related(
            "pattern__files", "pattern__previews", "pattern__tags", "pattern__category", "pattern__licence"
        )


def _collections(request: Request) -> QuerySet[Collection]:
    return selectors.collections_visible_to(user=request.user).prefetch_related(
        Prefetch("items", queryset=CollectionItem.objects.order_by("-added_at", "-id"))
    )


class CollectionListCreateView(generics.ListAPIView[Collection]):
    """``GET``: your collections (private and public). ``POST {name, description, is_public}``: a new one."""

    serializer_class = CollectionSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self) -> QuerySet[Collection]:
        return _collections(self.request).filter(owner_id=self.request.user.pk)

    @extend_schema(request=CollectionInputSerializer, responses={201: CollectionSerializer})
    def post(self, request: Request) -> Response:
        serializer = CollectionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            collection = services.collection_create(owner=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        return Response(CollectionSerializer(collection).data, status=status.HTTP_201_CREATED)


def _own_collection(request: Request, pk: int) -> Collection:
    """The caller's own collection; someone else's (public or private) is 404 for writes."""
    return get_object_or_404(_collections(request).filter(owner_id=request.user.pk), pk=pk)


class CollectionDetailView(APIView):
    """A public collection, or your own; another user's private collection is 404."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(responses={200: CollectionSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(CollectionSerializer(get_object_or_404(_collections(request), pk=pk)).data)

    @extend_schema(request=CollectionUpdateInputSerializer, responses={200: CollectionSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        collection = _own_collection(request, pk)
        serializer = CollectionUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            collection = services.collection_update(collection=collection, data=dict(serializer.validated_data))
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        return Response(CollectionSerializer(_own_collection(request, pk)).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted")})
    def delete(self, request: Request, pk: int) -> Response:
        _own_collection(request, pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class CollectionPatternView(APIView):
    """``PUT`` adds a pattern to your collection, ``DELETE`` removes it; both idempotent."""

    permission_classes = [permissions.IsAuthenticated]

    def _answer(self, request: Request, pk: int, pattern_id: int, on: bool) -> Response:
        collection = _own_collection(request, pk)
        pattern = _visible_pattern(request, pattern_id)
        services.collection_pattern_set(collection=collection, pattern=pattern, on=on)
        return Response(CollectionSerializer(_own_collection(request, pk)).data)

    @extend_schema(request=None, responses={200: CollectionSerializer})
    def put(self, request: Request, pk: int, pattern_id: int) -> Response:
        return self._answer(request, pk, pattern_id, True)

    @extend_schema(request=None, responses={200: CollectionSerializer})
    def delete(self, request: Request, pk: int, pattern_id: int) -> Response:
        return self._answer(request, pk, pattern_id, False)


class FollowView(APIView):
    """``POST`` follows a creator, ``DELETE`` unfollows; both idempotent. Followers hear of new patterns."""

    permission_classes = [permissions.IsAuthenticated]

    def _answer(self, request: Request, username: str, on: bool) -> Response:
        creator = get_object_or_404(get_user_model(), username=username, is_active=True)
        try:
            services.follow_set(follower=request.user, creator=creator, on=on)
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        followers = Follow.objects.filter(creator=creator).count()
        return Response({"creator": creator.get_username(), "following": on, "followers": followers})

    @extend_schema(request=None, responses={200: FollowStateSerializer})
    def post(self, request: Request, username: str) -> Response:
        return self._answer(request, username, True)

    @extend_schema(request=None, responses={200: FollowStateSerializer})
    def delete(self, request: Request, username: str) -> Response:
        return self._answer(request, username, False)
