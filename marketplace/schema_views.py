"""``/api/schema/``: the OpenAPI schema, in YAML or, with ``?format=json``, JSON.

Kept apart from ``marketplace.schema`` (the AutoSchema class named in settings), which drf-spectacular's views
module imports while it loads.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response


class SchemaFormatNegotiation(DefaultContentNegotiation):
    """``?format=json`` / ``?format=yaml`` choose the schema's encoding.

    ``URL_FORMAT_OVERRIDE`` is off project-wide because ``?format=`` filters patterns by file format on the
    pattern list; only the schema view, which has no such filter, reads it as an encoding.
    """

    def select_renderer(self, request: Request, renderers: Any, format_suffix: str | None = None) -> Any:
        requested = format_suffix or request.query_params.get("format") or None
        if requested is not None and requested not in SCHEMA_FORMATS:
            requested = "json"  # the view answers 400, and says why in JSON
        return super().select_renderer(request, renderers, requested)


SCHEMA_FORMATS = ("json", "yaml")


class SchemaView(SpectacularAPIView):
    """``/api/schema/``: YAML by default (or by ``Accept``), JSON with ``?format=json``."""

    content_negotiation_class = SchemaFormatNegotiation

    @extend_schema(
        **{
            **SCHEMA_KWARGS,
            "parameters": [
                *SCHEMA_KWARGS.get("parameters", []),
                OpenApiParameter("format", str, OpenApiParameter.QUERY, enum=list(SCHEMA_FORMATS)),
            ],
        }
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if (request.query_params.get("format") or "json") not in SCHEMA_FORMATS:
            raise ValidationError({"format": [f"Use one of: {', '.join(SCHEMA_FORMATS)}."]})
        return super().get(request, *args, **kwargs)
