"""The OpenAPI schema tells the truth: the errors every operation can answer (the view is in schema_views).

Outside clients generate code and tests from ``/api/schema/``; a status code the API returns but the schema
omits breaks them just as a wrong field type does (schemathesis checks both in tests/test_api_schema.py).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers


class ErrorDetailSerializer(serializers.Serializer[Any]):
    """DRF's error body for everything but validation: ``{"detail": "..."}``."""

    detail = serializers.CharField()


def _detail(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorDetailSerializer, description=description)


VALIDATION_ERROR = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description=(
        "The request or its query string is invalid: each invalid field (or `detail` / `non_field_errors`) "
        "maps to a list of messages saying what to change."
    ),
)
NOT_AUTHENTICATED = _detail("No credentials, or a token or session that is not valid (`Token <key>`).")
FORBIDDEN = _detail("Authenticated, but not allowed to do this (or a session request without its CSRF token).")
NOT_FOUND = _detail("No such object visible to you, or a page number past the last page.")
THROTTLED = _detail("Too many requests; retry after the number of seconds in `Retry-After`.")
TOO_LARGE = _detail("The uploaded file is larger than this operation accepts.")
UNSUPPORTED_MEDIA_TYPE = _detail("The body's Content-Type is not one this operation reads.")
BUSY = _detail("Uploads are paused while the processing queue is full; retry after `Retry-After` seconds.")

# Permission classes that only ever refuse an anonymous request (401), never an authenticated one.
_AUTHENTICATION_ONLY = (permissions.AllowAny, permissions.IsAuthenticated, permissions.IsAuthenticatedOrReadOnly)


class TesseraAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the error responses each operation can give, derived from the view."""

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code, response in self._error_responses(operation).items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code)
        return operation

    def _error_responses(self, operation: dict[str, Any]) -> dict[str, OpenApiResponse]:
        parameters = operation.get("parameters", [])
        errors: dict[str, OpenApiResponse] = {}
        if "requestBody" in operation or any(p["in"] in ("query", "header") for p in parameters):
            errors["400"] = VALIDATION_ERROR
        if "requestBody" in operation:
            errors["415"] = UNSUPPORTED_MEDIA_TYPE
        if getattr(self.view, "authentication_classes", None):
            # A wrong `Authorization: Token ...` is refused on every endpoint, public ones included.
            errors["401"] = NOT_AUTHENTICATED
        unsafe = self.method not in ("GET", "HEAD", "OPTIONS")
        checks = [type(permission) for permission in self.view.get_permissions()]
        if unsafe or any(not issubclass(check, _AUTHENTICATION_ONLY) for check in checks):
            errors["403"] = FORBIDDEN
        if any(p["in"] == "path" for p in parameters) or (self._is_list_view() and self._get_paginator()):
            errors["404"] = NOT_FOUND
        errors["429"] = THROTTLED
        return errors
