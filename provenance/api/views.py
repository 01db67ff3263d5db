"""The authorship log's API: a pattern's proof (its creator, staff), the latest checkpoint and consistency proofs
(public: anyone may audit the log)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from provenance import merkle, selectors

CheckpointSerializer = inline_serializer(
    "ProvenanceCheckpoint", {"note": serializers.CharField(), "public_key": serializers.CharField()}
)
ProvenanceSerializer = inline_serializer(
    "PatternProvenance",
    {
        "status": serializers.ChoiceField(choices=["included"]),
        "version": serializers.IntegerField(),
        "leaf_index": serializers.IntegerField(),
        "leaf_data": serializers.CharField(),
        "tree_size": serializers.IntegerField(),
        "inclusion_proof": serializers.ListField(child=serializers.CharField()),
        "checkpoint": CheckpointSerializer,
    },
)
PendingSerializer = inline_serializer(
    "PatternProvenancePending",
    {
        "status": serializers.ChoiceField(choices=["pending"]),
        "version": serializers.IntegerField(),
        "leaf_index": serializers.IntegerField(allow_null=True),
        "leaf_data": serializers.CharField(allow_null=True),
        "tree_size": serializers.IntegerField(allow_null=True),
        "inclusion_proof": serializers.ListField(child=serializers.CharField(), allow_null=True),
        "checkpoint": inline_serializer(
            "ProvenanceCheckpointOrNull",
            {"note": serializers.CharField(), "public_key": serializers.CharField()},
            allow_null=True,
        ),
    },
)
PENDING_RETRY_SECONDS = 30


class PatternProvenanceView(APIView):
    """``GET /api/v1/patterns/{id}/provenance/[?version=N]``: the statement of the pattern's original upload (or of
    version N), its leaf index and RFC 9162 audit path to the latest signed checkpoint.

    401 without credentials, 404 for a pattern you may not see, 403 for someone else's published pattern (the
    history API's rule). While the statement is not yet in a signed checkpoint (the outbox has not appended it, or
    the next checkpoint is seconds away): ``202 {"status": "pending", ...}`` with ``Retry-After``.
    """

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("version", int, description="Version number (default 1: the original upload)")],
        responses={
            200: ProvenanceSerializer,
            202: OpenApiResponse(PendingSerializer, description="Not yet in a signed checkpoint; retry."),
            403: OpenApiResponse(description="A published pattern that is not yours."),
            404: OpenApiResponse(description="No such pattern (or not visible to you), or no such version."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        access = selectors.pattern_access(user=request.user, pattern_id=pk)
        if access == "missing":
            raise Http404("No such pattern.")
        if access == "forbidden":
            raise PermissionDenied("Only the pattern's creator and staff can read its authorship proof.")
        raw_version = request.query_params.get("version", "1")
        if not raw_version.isdigit() or int(raw_version) < 1:
            raise ValidationError({"version": ["A version number: 1, 2, 3 ..."]})
        version = int(raw_version)
        leaf = selectors.leaf_for_pattern(pattern_id=pk, version=version)
        checkpoint = selectors.checkpoint_latest()
        if leaf is None or checkpoint is None or checkpoint.tree_size <= leaf.index:
            pending = {
                "status": "pending",
                "version": version,
                "leaf_index": leaf.index if leaf else None,
                "leaf_data": leaf.leaf_data if leaf else None,
                "tree_size": None,
                "inclusion_proof": None,
                "checkpoint": selectors.checkpoint_payload(checkpoint) if checkpoint else None,
            }
            return Response(pending, status=202, headers={"Retry-After": str(PENDING_RETRY_SECONDS)})
        return Response(selectors.provenance_payload(leaf=leaf, checkpoint=checkpoint))


class CheckpointLatestView(APIView):
    """``GET /api/v1/provenance/checkpoint/`` (public): the latest signed checkpoint and the log's public key
    (base64 of the raw Ed25519 key). 404 while the log is empty."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: CheckpointSerializer, 404: OpenApiResponse(description="The log is empty.")})
    def get(self, request: Request) -> Response:
        checkpoint = selectors.checkpoint_latest()
        if checkpoint is None:
            raise Http404("The log has no checkpoint yet.")
        return Response(selectors.checkpoint_payload(checkpoint))


class ConsistencyView(APIView):
    """``GET /api/v1/provenance/consistency/?first=N&second=M`` (public): the RFC 9162 consistency proof (hex)
    that the tree of N leaves is a prefix of the tree of M; 0 < N <= M <= the latest checkpoint's size, else 400."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("first", int, required=True), OpenApiParameter("second", int, required=True)],
        responses={
            200: inline_serializer("ConsistencyProof", {"proof": serializers.ListField(child=serializers.CharField())}),
            400: OpenApiResponse(description="first/second missing, not numbers, or out of range."),
        },
    )
    def get(self, request: Request) -> Response:
        sizes = {}
        errors = {}
        for name in ("first", "second"):
            raw = request.query_params.get(name, "")
            if not raw.isdigit() or len(raw) > 18:
                errors[name] = ["A tree size: a whole number."]
            else:
                sizes[name] = int(raw)
        if errors:
            raise ValidationError(errors)
        try:
            proof = selectors.consistency_proof(first=sizes["first"], second=sizes["second"])
        except merkle.ProofError as exc:
            raise ValidationError({"detail": [str(exc)]}) from None
        return Response({"proof": [node.hex() for node in proof]})
