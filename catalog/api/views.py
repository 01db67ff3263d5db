"""Pattern API: list and search, detail, moderation (creating a pattern is ingestion's: ingestion/api/views.py)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, permissions, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog import tracking as catalog_tracking
from catalog.api.serializers import (
    ModerationInputSerializer,
    PatternEventSerializer,
    PatternListQuerySerializer,
    PatternSerializer,
    PatternUpdateInputSerializer,
    TagDecisionInputSerializer,
    TagSuggestionSerializer,
)
from catalog.history import pattern_history_queryset
from catalog.image_search import ImageSearchRefused, pattern_search_by_upload
from catalog.models import Pattern, PatternVersion, TagSuggestion
from catalog.permissions import (
    DECIDE_TAG_SUGGESTIONS,
    MODERATE_PATTERNS,
    VIEW_PATTERNS,
    VIEW_TAG_SUGGESTIONS,
    staff_has_perm,
    staff_with,
)
from marketplace.events.models import EventRecord
from marketplace.page_cache import catalogue_cached, page_cache_remember_event
from marketplace.tracking import track_request


def raise_drf(exc: DjangoValidationError) -> None:
    raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class PatternListView(generics.ListAPIView[Pattern]):
    """``GET /api/v1/patterns/``; ingestion's ``PatternListCreateView`` adds ``POST`` (the submit workflow)."""

    serializer_class = PatternSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    filter_backends: list[Any] = []
    validates_query_string = True  # PatternListQuerySerializer; see marketplace.middleware
    anonymous_page_cache = True  # the same list for every anonymous client; see marketplace.page_cache

    def query_filters(self) -> dict[str, Any]:
        """The validated query string; any invalid parameter answers 400 naming it."""
        if not hasattr(self, "_query_filters"):
            serializer = PatternListQuerySerializer(data=self.request.query_params)
            serializer.is_valid(raise_exception=True)
            self._query_filters = dict(serializer.validated_data)
        return self._query_filters

    def get_queryset(self) -> QuerySet[Pattern]:
        filters = self.query_filters()
        return selectors.pattern_list_published(
            query=filters["q"],
            file_format=filters["format"],
            category=filters["category"],
            tag=filters["tag"],
            licence=filters["licence"],
            price_min=filters["price_min"],
            price_max=filters["price_max"],
            validated=filters["validated"],
            printer_bed=filters["printer_bed"],
            sort=filters["sort"],
            file_reports=True,  # PatternFileSerializer shows them
        )

    @extend_schema(parameters=[PatternListQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The same for every client at this address (absolute URLs: scheme and host too) until the catalogue
        # changes: kept for signed-in and token clients, whom the page cache never serves.
        address = f"{request.scheme}\n{request.get_host()}\n{request.get_full_path()}"
        data = catalogue_cached(
            f"api-list:{hashlib.sha256(address.encode()).hexdigest()}",
            lambda: self.list(request, *args, **kwargs).data,
        )
        response = Response(data)
        query = self.query_filters()["q"].strip()
        if query:
            count = response.data.get("count") if isinstance(response.data, dict) else None
            # The same event as the search page's for the same query (catalog.tracking).
            search_event = catalog_tracking.search_performed(
                user=request.user,
                query=query,
                result_count=count,
                path=request.path,
                category=self.query_filters()["category"],
            )
            track_request(request._request, search_event)
            page_cache_remember_event(request, search_event)
        return response


class PatternDetailView(generics.RetrieveAPIView[Pattern]):
    serializer_class = PatternSerializer
    # Reading is public (published patterns); editing needs an account (401 without).
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    def get_queryset(self) -> QuerySet[Pattern]:
        return selectors.pattern_visible_to(user=self.request.user)

    @extend_schema(request=PatternUpdateInputSerializer, responses={200: PatternSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        """Edit the listing (the creator, or a moderator); a rejected pattern its creator edits goes back to
        review. Recorded in the pattern's history as ``pattern.updated``."""
        pattern = self.get_object()  # 404 for a pattern the caller may not see
        if pattern.creator_id != request.user.pk and not staff_has_perm(request.user, MODERATE_PATTERNS):
            raise PermissionDenied("Only the pattern's creator or a moderator can edit it.")
        serializer = PatternUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        preview_order = data.pop("preview_order", None)
        if tags is not None and pattern.creator_id != request.user.pk:
            raise PermissionDenied("Only the pattern's creator can change its tags.")
        try:
            with transaction.atomic():  # the fields and the tags change together or not at all
                services.pattern_update(
                    pattern=pattern,
                    actor=request.user,  # type: ignore[arg-type]
                    data=data,
                )
                if preview_order is not None:
                    services.pattern_previews_order(
                        pattern=pattern,
                        actor=request.user,  # type: ignore[arg-type]
                        preview_ids=preview_order,
                    )
                if tags is not None:
                    services.pattern_tags_replace_by_creator(
                        pattern=pattern,
                        user=request.user,  # type: ignore[arg-type]
                        names=tags,
                    )
        except DjangoValidationError as exc:
            raise_drf(exc)
        pattern = selectors.pattern_visible_to(user=request.user).get(pk=pk)
        return Response(PatternSerializer(pattern, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Soft delete (the creator, or a moderator): gone from the shop, search and lists; buyers keep access.
        Records ``pattern.deleted``."""
        pattern = self.get_object()  # 404 for a pattern the caller may not see
        try:
            services.pattern_delete(pattern=pattern, actor=request.user)
        except DjangoValidationError as exc:
            raise_drf(exc)
        return Response(status=204)


class PatternLifecycleView(APIView):
    """``POST /api/v1/patterns/{id}/unpublish/`` and ``…/publish/`` (the creator, or a moderator)."""

    permission_classes = [permissions.IsAuthenticated]
    action = ""

    @extend_schema(request=None, responses={200: PatternSerializer})
    def post(self, request: Request, pk: int) -> Response:
        pattern = get_object_or_404(selectors.pattern_visible_to(user=request.user), pk=pk)
        change = services.pattern_unpublish if self.action == "unpublish" else services.pattern_republish
        try:
            change(pattern=pattern, actor=request.user)
        except DjangoValidationError as exc:
            raise_drf(exc)
        pattern = selectors.pattern_visible_to(user=request.user).get(pk=pk)
        return Response(PatternSerializer(pattern, context={"request": request}).data)


class HistoryPagination(PageNumberPagination):
    page_size = 100


class PatternHistoryView(generics.ListAPIView[EventRecord]):
    """The pattern's history, oldest first: for its creator and for staff who may view patterns.

    401 without credentials; 404 for a pattern the caller may not see at all (another creator's unpublished
    one, exactly like the detail endpoint, so its existence is not revealed); 403 for a published pattern that
    is not the caller's.
    """

    serializer_class = PatternEventSerializer
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = HistoryPagination
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[EventRecord]:
        pattern = (
            selectors.pattern_visible_to(user=self.request.user)
            .filter(pk=self.kwargs["pk"])
            .values("pk", "creator_id")
            .first()
        )
        if pattern is None:
            raise Http404("No such pattern.")
        if pattern["creator_id"] != self.request.user.pk and not staff_has_perm(self.request.user, *VIEW_PATTERNS):
            raise PermissionDenied("Only the pattern's creator and staff can read its history.")
        return pattern_history_queryset(pattern_id=pattern["pk"])

    @extend_schema(
        responses={
            200: PatternEventSerializer(many=True),
            403: OpenApiResponse(
                response=inline_serializer("HistoryForbidden", {"detail": serializers.CharField()}),
                description="A published pattern that is not yours (and you are not staff who may view patterns).",
            ),
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PatternModerationView(APIView):
    permission_classes = [staff_with(MODERATE_PATTERNS)]

    @extend_schema(request=ModerationInputSerializer, responses={200: PatternSerializer})
    def post(self, request: Request, pk: int) -> Response:
        pattern = get_object_or_404(Pattern, pk=pk)
        serializer = ModerationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.pattern_moderate(
                pattern=pattern,
                moderator=request.user,
                action=serializer.validated_data["action"],
                reason=serializer.validated_data["reason"],
            )
        except DjangoValidationError as exc:
            raise_drf(exc)
        pattern = selectors.pattern_visible_to(user=request.user).get(pk=pk)
        return Response(PatternSerializer(pattern, context={"request": request}).data)


class ImageSearchInputSerializer(serializers.Serializer[Any]):
    # A plain file: the image checks (header first, bounded decode) run in catalog.image_search, not in
    # ImageField, whose Image.open depends on Pillow's process-wide pixel limit.
    image = serializers.FileField(
        help_text="A photo or sketch; PNG, JPEG, WebP or TIFF, up to 20 MB and 50 megapixels "
        "(16 megapixels for PNG, WebP and TIFF)."
    )


class ImageSearchView(APIView):
    permission_classes = [permissions.AllowAny]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=ImageSearchInputSerializer,
        responses={
            200: inline_serializer(
                "ImageSearchResult", {"similarity": serializers.FloatField(), "pattern": PatternSerializer()}, many=True
            ),
            400: OpenApiResponse(description="No image, or the file is not a readable PNG, JPEG, WebP or TIFF."),
            413: OpenApiResponse(description="The image is over the byte, pixel or side-length limit."),
            503: OpenApiResponse(description="Too many image searches at once; retry after `Retry-After` seconds."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ImageSearchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            results = pattern_search_by_upload(upload=serializer.validated_data["image"])
        except ImageSearchRefused as refused:
            if refused.retry_after is not None:
                return Response(
                    {"detail": str(refused)},
                    status=refused.status,
                    headers={"Retry-After": str(refused.retry_after)},
                )
            return Response({"image": [str(refused)]}, status=refused.status)
        track_request(
            request._request,
            catalog_tracking.image_search_performed(user=request.user, result_count=len(results), path=request.path),
        )
        return Response(
            [
                {
                    "similarity": round(similarity, 4),
                    "pattern": PatternSerializer(pattern, context={"request": request}).data,
                }
                for pattern, similarity in results
            ]
        )


class PatternSimilarView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: PatternSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        pattern = selectors.pattern_visible_to(user=request.user).filter(pk=pk).first()
        if pattern is None:
            raise Http404("No such pattern.")
        similar = selectors.pattern_similar(pattern=pattern)
        return Response(PatternSerializer(similar, many=True, context={"request": request}).data)


class TagSuggestionDecisionView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=TagDecisionInputSerializer, responses={200: TagSuggestionSerializer})
    def post(self, request: Request, pk: int, suggestion_id: int) -> Response:
        suggestion = (
            TagSuggestion.objects.select_related("pattern", "tag").filter(pk=suggestion_id, pattern_id=pk).first()
        )
        user = request.user
        if suggestion is None or (
            suggestion.pattern.creator_id != user.pk and not staff_has_perm(user, *VIEW_TAG_SUGGESTIONS)
        ):
            raise Http404("No such tag suggestion.")
        if suggestion.pattern.creator_id != user.pk and not staff_has_perm(user, DECIDE_TAG_SUGGESTIONS):
            raise PermissionDenied("Your staff account may read tag suggestions but not decide them.")
        serializer = TagDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tag_suggestion_decide(
            suggestion=suggestion,
            user=user,  # type: ignore[arg-type]
            accept=serializer.validated_data["action"] == "accept",
        )
        return Response(TagSuggestionSerializer(suggestion).data)


class PatternTagSuggestionsView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: TagSuggestionSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        pattern = selectors.pattern_visible_to(user=request.user).filter(pk=pk).first()
        if pattern is None or (
            pattern.creator_id != request.user.pk and not staff_has_perm(request.user, *VIEW_TAG_SUGGESTIONS)
        ):
            raise Http404("No such pattern.")
        suggestions = pattern.tag_suggestions.select_related("tag").order_by("state", "-confidence")
        return Response(TagSuggestionSerializer(suggestions, many=True).data)


# --- Versions (issue 12) ---


def version_data(version: PatternVersion) -> dict[str, Any]:
    """``{number, status, changelog, files, created_at, published_at}``; version 1 reports the pattern's status."""
    status = version.pattern.status if version.number == 1 else version.status
    return {
        "number": version.number,
        "status": status,
        "status_reason": version.status_reason if version.number > 1 else "",
        "changelog": version.changelog,
        "files": [
            {
                "id": pattern_file.pk,
                "name": pattern_file.original_name,
                "format": pattern_file.format,
                "size": pattern_file.size,
                "sha256": pattern_file.sha256,
                "status": pattern_file.status,
            }
            for pattern_file in version.files.all()
        ],
        "created_at": version.created_at,
        "published_at": version.published_at,
    }


VERSION_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "number": serializers.IntegerField(),
    "status": serializers.CharField(),
    "status_reason": serializers.CharField(),
    "changelog": serializers.CharField(),
    "files": serializers.ListField(child=serializers.DictField()),
    "created_at": serializers.DateTimeField(),
    "published_at": serializers.DateTimeField(allow_null=True),
}
VersionOutput = inline_serializer("PatternVersion", VERSION_FIELDS)
VersionListOutput = inline_serializer("PatternVersion", VERSION_FIELDS, many=True)


def visible_pattern_or_404(*, request: Request, pk: int) -> Pattern:
    pattern = selectors.pattern_visible_to(user=request.user).filter(pk=pk).first()
    if pattern is None:
        raise Http404("No such pattern.")
    return pattern


class PatternVersionListView(APIView):
    """``GET /api/v1/patterns/{id}/versions/``; ingestion's view adds ``POST`` (a new version)."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    @extend_schema(responses={200: VersionListOutput}, operation_id="api_v1_patterns_versions_list")
    def get(self, request: Request, pk: int) -> Response:
        pattern = visible_pattern_or_404(request=request, pk=pk)
        versions = selectors.pattern_versions_visible(pattern=pattern, user=request.user).select_related("pattern")
        return Response([version_data(version) for version in versions])


class PatternVersionDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: VersionOutput})
    def get(self, request: Request, pk: int, number: int) -> Response:
        pattern = visible_pattern_or_404(request=request, pk=pk)
        version = (
            selectors.pattern_versions_visible(pattern=pattern, user=request.user)
            .select_related("pattern")
            .filter(number=number)
            .first()
        )
        if version is None:
            raise Http404("No such version.")
        return Response(version_data(version))


class PatternVersionModerationView(APIView):
    permission_classes = [staff_with(MODERATE_PATTERNS)]

    @extend_schema(request=ModerationInputSerializer, responses={200: VersionOutput})
    def post(self, request: Request, pk: int, number: int) -> Response:
        version = get_object_or_404(PatternVersion.objects.select_related("pattern"), pattern_id=pk, number=number)
        serializer = ModerationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            version = services.version_moderate(
                version=version,
                moderator=request.user,
                action=serializer.validated_data["action"],
                reason=serializer.validated_data["reason"],
            )
        except DjangoValidationError as exc:
            raise_drf(exc)
        return Response(version_data(version))


# --- Shops (issue 12, h/shops) ---


class CreatorSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField()
    bio = serializers.CharField()
    avatar = serializers.SerializerMethodField()
    banner = serializers.SerializerMethodField()
    links = serializers.ListField(child=serializers.URLField())
    sales_band = serializers.SerializerMethodField()
    rating = serializers.SerializerMethodField()
    pattern_count = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_avatar(self, profile: Any) -> str | None:
        return self._absolute(profile.avatar.url) if profile.avatar else None

    def get_banner(self, profile: Any) -> str | None:
        return self._absolute(profile.banner.url) if profile.banner else None

    def get_sales_band(self, profile: Any) -> str:
        return selectors.sales_band(profile.sales_count)

    @extend_schema_field(
        inline_serializer(
            "CreatorRating", {"average": serializers.FloatField(allow_null=True), "count": serializers.IntegerField()}
        )
    )
    def get_rating(self, profile: Any) -> dict[str, object]:
        return selectors.shop_rating(creator_id=profile.user_id)

    def get_pattern_count(self, profile: Any) -> int:
        return selectors.pattern_list_published(creator_id=profile.user_id).count()

    def get_url(self, profile: Any) -> str:
        return self._absolute(reverse("catalog:creator-shop", kwargs={"username": profile.user.username}))


class CreatorDetailView(APIView):
    """``GET /api/v1/creators/<username>/``: a creator's public shop profile (404 for someone who sells nothing)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: CreatorSerializer})
    def get(self, request: Request, username: str) -> Response:
        profile = selectors.creator_profile_for_shop(username=username)
        if profile is None:
            raise Http404("No such creator.")
        return Response(CreatorSerializer(profile, context={"request": request}).data)
