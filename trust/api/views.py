"""The takedown API: a notice (no account), the parties' view of it, staff decisions, counter-notices, complaints.

Staff-only endpoints answer 403 for any id, before the lookup (as catalog's moderation does); a notice the caller
is no party to answers 404, revealing nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Pattern
from catalog.permissions import MODERATE_PATTERNS, staff_with
from marketplace.throttling import anonymous_post_throttle
from trust import selectors, services
from trust.api.serializers import (
    ComplaintInputSerializer,
    ComplaintResolutionInputSerializer,
    CounterNoticeInputSerializer,
    DecisionInputSerializer,
    NoticeReceivedSerializer,
    TakedownNoticeInputSerializer,
    notice_data,
)
from trust.models import Complaint, TakedownNotice

CONFLICT = OpenApiResponse(description="Not possible in the notice's (or complaint's) current state; nothing changed.")
NOT_FOUND = OpenApiResponse(description="No such notice, or you are no party to it.")
FORBIDDEN = OpenApiResponse(description="Your account may not do this.")
BAD = OpenApiResponse(description="Every missing or invalid field, by name.")
NOTICE = OpenApiResponse(description="The notice as its reader may see it.")


def _drf(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


def _conflict(exc: services.Conflict) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


def notice_throttle(request: Any) -> None:
    """Notices from one client are limited (the form and the API count together); 429 with Retry-After."""
    wait = anonymous_post_throttle(
        request,
        scope="takedown-notice",
        rate=settings.TESSERA_TRUST_NOTICE_RATE,
        window=settings.TESSERA_TRUST_NOTICE_WINDOW_SECONDS,
    )
    if wait:
        raise Throttled(wait=wait, detail="Too many notices from your network; try again later.")


class TakedownListCreateView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=TakedownNoticeInputSerializer,
        responses={
            201: NoticeReceivedSerializer,
            400: OpenApiResponse(description="Every missing element or unaffirmed statement, by field."),
            429: OpenApiResponse(description="Too many notices from this client."),
        },
    )
    def post(self, request: Request) -> Response:
        """A takedown notice (17 U.S.C. §512(c)(3), DSA Art. 16). No account needed; the claimant gets an
        acknowledgement e-mail with a secret link to follow the notice."""
        serializer = TakedownNoticeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notice_throttle(request)
        notice = services.notice_submit(notice=serializer.notice())
        return Response({"id": notice.pk, "status": notice.status}, status=status.HTTP_201_CREATED)


def _notice_for(request: Request, pk: int) -> tuple[TakedownNotice, str]:
    notice = TakedownNotice.objects.select_related("decided_by").filter(pk=pk).first()
    if notice is None:
        raise NotFound("No such notice.")
    role = selectors.notice_role(notice=notice, user=request.user, token=str(request.query_params.get("token", "")))
    if not role:
        raise NotFound("No such notice.")
    return notice, role


class TakedownDetailView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: NOTICE, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        """Staff (with the evidence), the claimant (``?token=`` from their e-mail) or the uploader (signed in)."""
        notice, role = _notice_for(request, pk)
        evidence = selectors.notice_evidence(notice=notice) if role == "staff" else None
        return Response(notice_data(notice=notice, role=role, reader_id=request.user.pk, evidence=evidence))


class TakedownDecisionView(APIView):
    permission_classes = [staff_with(MODERATE_PATTERNS)]

    @extend_schema(
        request=DecisionInputSerializer,
        responses={200: NOTICE, 400: BAD, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request: Request, pk: int) -> Response:
        notice = get_object_or_404(TakedownNotice, pk=pk)
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            notice = services.notice_decide(
                notice=notice,
                moderator=request.user,
                action=serializer.validated_data["action"],
                reason=serializer.validated_data["reason"],
                revoke_access=serializer.validated_data["revoke_access"],
            )
        except services.Conflict as exc:
            return _conflict(exc)
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        return Response(notice_data(notice=notice, role="staff"))


class TakedownCounterNoticeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=CounterNoticeInputSerializer,
        responses={201: NOTICE, 400: BAD, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
    )
    def post(self, request: Request, pk: int) -> Response:
        """The uploader's counter-notice (§512(g)(3)); the listing comes back at ``restore_after``."""
        notice, role = _notice_for(request, pk)
        if role != "uploader":
            raise PermissionDenied("Only the uploader of a listing taken down on this notice can counter it.")
        serializer = CounterNoticeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.counter_notice_file(notice=notice, uploader=request.user, counter=serializer.counter())
        except services.Conflict as exc:
            return _conflict(exc)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        notice.refresh_from_db()
        return Response(
            notice_data(notice=notice, role=role, reader_id=request.user.pk), status=status.HTTP_201_CREATED
        )


class TakedownActionFiledView(APIView):
    permission_classes = [staff_with(MODERATE_PATTERNS)]

    @extend_schema(request=None, responses={200: NOTICE, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        """Staff record that the claimant filed an action: the listing stays down."""
        notice = get_object_or_404(TakedownNotice, pk=pk)
        try:
            notice = services.action_filed_record(notice=notice, moderator=request.user)
        except services.Conflict as exc:
            return _conflict(exc)
        return Response(notice_data(notice=notice, role="staff"))


class ComplaintCreateView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=ComplaintInputSerializer,
        responses={
            201: OpenApiResponse(description="{id, status}"),
            400: BAD,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
            429: OpenApiResponse(description="Too many posts from this client."),
        },
    )
    def post(self, request: Request) -> Response:
        """An internal complaint (DSA Art. 20) against a takedown decision (the uploader signed in, or the claimant
        with their ``token``), a pattern's rejection or removal (its creator), or a suspension (the creator)."""
        serializer = ComplaintInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subject = data["subject"]
        user = request.user if request.user.is_authenticated else None
        notice = pattern = None
        email = ""
        if subject in ("takedown", "pattern") and not data.get("id"):
            raise ValidationError({"id": ["Which notice or pattern the complaint is about."]})
        if subject == "takedown":
            notice = TakedownNotice.objects.filter(pk=data["id"]).first()
            role = selectors.notice_role(notice=notice, user=request.user, token=data["token"]) if notice else ""
            if role not in ("claimant", "uploader"):
                raise NotFound("No such notice.")
            if role == "claimant":
                user, email = None, notice.claimant_email  # type: ignore[union-attr]
        elif user is None:
            raise PermissionDenied("Sign in to complain about a decision on your pattern or account.")
        elif subject == "pattern":
            pattern = Pattern.objects.filter(pk=data["id"], creator=user).first()
            if pattern is None:
                raise NotFound("No such pattern of yours.")
        notice_throttle(request)
        try:
            complaint = services.complaint_file(
                subject=subject,
                text=data["text"],
                complainant=user,
                complainant_email=email,
                notice=notice,
                pattern=pattern,
            )
        except services.Conflict as exc:
            return _conflict(exc)
        return Response({"id": complaint.pk, "status": complaint.status}, status=status.HTTP_201_CREATED)


class ComplaintResolutionView(APIView):
    permission_classes = [staff_with(MODERATE_PATTERNS)]

    @extend_schema(
        request=ComplaintResolutionInputSerializer, responses={200: OpenApiResponse(description="{id, status}")}
    )
    def post(self, request: Request, pk: int) -> Response:
        complaint = get_object_or_404(Complaint, pk=pk)
        serializer = ComplaintResolutionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            complaint = services.complaint_resolve(
                complaint=complaint,
                moderator=request.user,
                outcome=serializer.validated_data["outcome"],
                reason=serializer.validated_data["reason"],
            )
        except services.Conflict as exc:
            return _conflict(exc)
        except DjangoValidationError as exc:
            raise _drf(exc) from exc
        return Response({"id": complaint.pk, "status": complaint.status})
