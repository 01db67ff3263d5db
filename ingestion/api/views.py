"""Submit API: ``POST /api/v1/patterns/`` (the submit workflow) and resumable uploads (start a session, PUT chunks
with Content-Range, ask where to resume)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors as catalog_selectors
from catalog.api.serializers import PatternSerializer
from catalog.api.views import PatternListView, PatternVersionListView, visible_pattern_or_404
from ingestion import services, uploads
from ingestion.admission import UploadRefused, upload_admit, upload_size_hint
from ingestion.api.refusals import UPLOAD_REFUSALS, upload_refused_response
from ingestion.api.serializers import PatternCreateInputSerializer
from ingestion.models import UploadSession
from ingestion.sellers import selling_refusal
from ingestion.submit import pattern_submit, version_submit

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")

SessionSerializer = inline_serializer(
    "UploadSession",
    fields={
        "id": serializers.UUIDField(),
        "filename": serializers.CharField(),
        "size": serializers.IntegerField(),
        "offset": serializers.IntegerField(),
        "complete": serializers.BooleanField(),
        "chunk_size": serializers.IntegerField(),
    },
)


class RawChunkParser(BaseParser):
    """Leaves the body unread so the view can stream it to disk."""

    media_type = "application/octet-stream"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream


def _describe(session: UploadSession) -> dict[str, Any]:
    return {
        "id": str(session.pk),
        "filename": session.filename,
        "size": session.size,
        "offset": session.received,
        "complete": session.status != UploadSession.Status.OPEN,
        "chunk_size": settings.TESSERA_CHUNK_BYTES,
    }


class UploadSessionCreateInputSerializer(serializers.Serializer[Any]):
    filename = serializers.CharField(max_length=255)
    size = serializers.IntegerField(min_value=1)


class UploadSessionCreateView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=UploadSessionCreateInputSerializer,
        # 429 covers both the hourly quota and TESSERA_MAX_OPEN_UPLOAD_SESSIONS uploads in progress.
        responses={201: SessionSerializer, **UPLOAD_REFUSALS},
    )
    def post(self, request: Request) -> Response:
        serializer = UploadSessionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            upload_admit(user=request.user, size_hint=serializer.validated_data["size"])
        except UploadRefused as refusal:
            return upload_refused_response(refusal)
        try:
            session = uploads.upload_session_start(user=request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        except uploads.TooManyOpenUploads as exc:
            # An open upload goes idle (and stops counting) after at most this long; most finish far sooner.
            retry_after = 60
            return Response(
                {"detail": str(exc), "retry_after": retry_after},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(retry_after)},
            )
        return Response(_describe(session), status=status.HTTP_201_CREATED)


class UploadSessionDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [RawChunkParser]

    def _session(self, request: Request, pk: Any) -> UploadSession:
        session = UploadSession.objects.filter(pk=pk, user=request.user).first()  # type: ignore[misc]
        if session is None:
            raise Http404("No such upload.")
        return session

    @extend_schema(responses={200: SessionSerializer})
    def get(self, request: Request, pk: Any) -> Response:
        return Response(_describe(self._session(request, pk)))

    @extend_schema(
        request={"application/octet-stream": bytes},
        parameters=[
            OpenApiParameter("Content-Range", str, OpenApiParameter.HEADER, description="bytes START-END/TOTAL")
        ],
        responses={200: SessionSerializer, 409: SessionSerializer},
    )
    def put(self, request: Request, pk: Any) -> Response:
        match = _CONTENT_RANGE.match(request.headers.get("Content-Range", ""))
        if not match:
            raise ValidationError({"Content-Range": ["Send 'Content-Range: bytes START-END/TOTAL'."]})
        start, end, total = (int(group) for group in match.groups())
        session = self._session(request, pk)
        if total != session.size or end < start:
            raise ValidationError({"Content-Range": ["The range does not match this upload."]})
        try:
            session = uploads.upload_session_append(
                session_id=session.pk, user=request.user, start=start, stream=request.stream, length=end - start + 1
            )
        except uploads.ChunkConflict as conflict:
            current = self._session(request, pk)
            return Response({**_describe(current), "offset": conflict.offset}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(_describe(session))


class PatternListCreateView(PatternListView):
    """``/api/v1/patterns/``: catalog's list and search (GET), and the submit workflow (POST).

    One path serves both, as outside clients expect; the list is catalog's view, extended here because ingestion
    sits above catalog (catalog cannot reach the submit workflow)."""

    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(request=PatternCreateInputSerializer, responses={201: PatternSerializer, **UPLOAD_REFUSALS})
    def post(self, request: Request) -> Response:
        cannot_sell = selling_refusal(request.user)
        if cannot_sell:
            raise PermissionDenied(cannot_sell)
        try:
            upload_admit(user=request.user, size_hint=upload_size_hint(request.META))
        except UploadRefused as refusal:
            return upload_refused_response(refusal)
        serializer = PatternCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            pattern = pattern_submit(
                creator=request.user,  # type: ignore[arg-type]
                title=data["title"],
                description=data["description"],
                price=data["price"],
                commercial_price=data["commercial_price"],
                currency=data["currency"],
                licence=data["licence"],
                category=data["category"] or None,
                files=data["files"],
                upload_ids=data["uploads"],
                tags=data["tags"],
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from exc
        pattern = catalog_selectors.pattern_visible_to(user=request.user).get(pk=pattern.pk)
        return Response(PatternSerializer(pattern, context={"request": request}).data, status=status.HTTP_201_CREATED)


class VersionCreateInputSerializer(serializers.Serializer[Any]):
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)
    changelog = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)


class PatternVersionListCreateView(PatternVersionListView):
    """``/api/v1/patterns/{id}/versions/``: catalog's list (GET) and a new version from the creator (POST)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=VersionCreateInputSerializer,
        responses={
            201: inline_serializer(
                "VersionCreated", {"number": serializers.IntegerField(), "status": serializers.CharField()}
            ),
            **UPLOAD_REFUSALS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        pattern = visible_pattern_or_404(request=request, pk=pk)
        if pattern.creator_id != request.user.pk:
            raise PermissionDenied("Only the pattern's creator can send a new version.")
        try:
            upload_admit(user=request.user, size_hint=upload_size_hint(request.META))
        except UploadRefused as refusal:
            return upload_refused_response(refusal)
        serializer = VersionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            version = version_submit(
                pattern=pattern,
                creator=request.user,  # type: ignore[arg-type]
                files=serializer.validated_data["files"],
                changelog=serializer.validated_data["changelog"],
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from exc
        return Response({"number": version.number, "status": version.status}, status=status.HTTP_201_CREATED)


class PatternResubmitView(APIView):
    """``POST /api/v1/patterns/{id}/resubmit/``: the creator sends a rejected or failed pattern back through
    ingestion and review (issue 12, h/shops)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: PatternSerializer})
    def post(self, request: Request, pk: int) -> Response:
        pattern = catalog_selectors.pattern_visible_to(user=request.user).filter(pk=pk).first()
        if pattern is None:
            raise Http404("No such pattern.")
        try:
            services.pattern_resubmit(pattern=pattern, actor=request.user)  # type: ignore[arg-type]
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from exc
        pattern = catalog_selectors.pattern_visible_to(user=request.user).get(pk=pk)
        return Response(PatternSerializer(pattern, context={"request": request}).data)
