"""How the upload endpoints of every app answer an upload that admission control refused."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from ingestion.admission import UploadRefused

_REFUSAL = inline_serializer(
    "UploadRefused",
    fields={"detail": serializers.CharField(), "retry_after": serializers.IntegerField()},
)
UPLOAD_REFUSALS = {
    429: OpenApiResponse(_REFUSAL, description="This creator's hourly upload quota is used up; see Retry-After."),
    503: OpenApiResponse(_REFUSAL, description="The ingest queues are full; retry after Retry-After seconds."),
}


def upload_refused_response(refusal: UploadRefused) -> Response:
    return Response(
        {"detail": refusal.message, "retry_after": refusal.retry_after},
        status=refusal.status_code,
        headers={"Retry-After": str(refusal.retry_after)},
    )
